/**
 * The shipped nginx configuration (deploy/nginx), run by a real nginx in front
 * of two app instances on one database. scripts/test.mjs runs this file only
 * where nginx is installed, or always when CI=true: then a missing nginx fails
 * it rather than skipping it.
 *
 * Only what cannot work here is changed in the copies the test runs: the
 * upstream addresses, the listen ports, and the stream's 1 h read timeout,
 * shortened to 2 s so "a heartbeat-only stream outlives the read timeout" takes
 * seconds rather than hours (nginx's default is 60 s).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { NotificationPublisher } from '../src/notifications/notification.publisher.js';
import type { PersonalDraft } from '../src/notifications/notification.types.js';
import { StreamHub } from '../src/notifications/stream-hub.js';
import { Client } from './support/http.js';
import { freshDatabase, startTestApp, type TestApp } from './support/app.js';
import { findNginx, writeNginxMain } from './support/nginx.js';
import { openStream, type SseConnection } from './support/sse.js';

const ROOT = new URL('..', import.meta.url).pathname;
const DEPLOY = join(ROOT, 'deploy/nginx');
const READ_TIMEOUT_S = 2;
const HEARTBEAT_MS = 500;

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Replaces `from` (which must be there) with `to` in a shipped file's text. */
function swap(text: string, from: string | RegExp, to: string, file: string): string {
  expect([file, from, typeof from === 'string' ? text.includes(from) : from.test(text)]).toStrictEqual([
    file,
    from,
    true,
  ]);
  return text.replaceAll(from as string, to);
}

interface Ports {
  plain: number;
  http: number;
  https: number;
  control: number;
}

/** Copies deploy/nginx into `dir`, adapted to local ports, and writes a wrapper nginx.conf. */
function writeConfig(dir: string, ports: Ports, apps: { a: number; b: number; control: number }): string {
  const read = (name: string) => readFileSync(join(DEPLOY, name), 'utf8');
  writeFileSync(join(dir, 'http.conf'), read('http.conf'));
  let upstream = read('upstream.conf');
  upstream = swap(upstream, 'app1:3000', `127.0.0.1:${apps.a}`, 'upstream.conf');
  upstream = swap(upstream, 'app2:3000', `127.0.0.1:${apps.b}`, 'upstream.conf');
  writeFileSync(join(dir, 'upstream.conf'), upstream);
  let servers = read('servers.conf');
  servers = swap(servers, 'listen 80;', `listen 127.0.0.1:${ports.http};`, 'servers.conf');
  servers = swap(servers, 'listen 443 ssl http2;', `listen 127.0.0.1:${ports.https} ssl http2;`, 'servers.conf');
  writeFileSync(join(dir, 'servers.conf'), servers);
  writeFileSync(
    join(dir, 'proxy.conf'),
    swap(read('proxy.conf'), 'proxy_read_timeout 1h;', `proxy_read_timeout ${READ_TIMEOUT_S}s;`, 'proxy.conf'),
  );
  return writeNginxMain(
    dir,
    1024,
    `include http.conf;
    include upstream.conf;
    include servers.conf;
    # The shipped locations over plain HTTP, for simple clients.
    server {
        listen 127.0.0.1:${ports.plain};
        include proxy.conf;
    }
    # Control: an instance without heartbeats behind the same short read timeout.
    upstream control_app { server 127.0.0.1:${apps.control}; }
    server {
        listen 127.0.0.1:${ports.control};
        location / {
            proxy_pass http://control_app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_read_timeout ${READ_TIMEOUT_S}s;
        }
    }`,
  );
}

async function waitForPort(port: number, proc: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`nginx exited with ${proc.exitCode}: ${stderr()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nginx did not listen on ${port}: ${stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];

let db: { url: string; drop: () => Promise<void> };
let a: TestApp;
let b: TestApp;
let control: TestApp;
let nginx: ChildProcess;
let nginxErr = '';
let dir: string;
let accessLog: number | undefined;
let ports: Ports;
let viaNginx: string;
const open: SseConnection[] = [];

beforeAll(async () => {
  const bin = findNginx();
  db = await freshDatabase();
  a = await startTestApp({ HEARTBEAT_MS: String(HEARTBEAT_MS) }, db);
  b = await startTestApp({ HEARTBEAT_MS: String(HEARTBEAT_MS) }, db);
  control = await startTestApp({ HEARTBEAT_MS: '3600000' }, db);

  dir = mkdtempSync(join(tmpdir(), 'notif-nginx-'));
  chmodSync(dir, 0o755); // nginx workers drop to an unprivileged user when started as root
  // The certificate, as the container's entrypoint makes it on first start.
  const cert = spawnSync('sh', [join(DEPLOY, 'entrypoint.sh'), 'true'], {
    env: { ...process.env, CERT_DIR: join(dir, 'certs'), TLS_HOSTNAME: 'localhost' },
    encoding: 'utf8',
  });
  expect(cert.status).toBe(0); // `entrypoint.sh generates the certificate: ${cert.stderr}`
  ports = { plain: await freePort(), http: await freePort(), https: await freePort(), control: await freePort() };
  const conf = writeConfig(dir, ports, { a: a.port, b: b.port, control: control.port });
  // The access log goes to /dev/stdout, which cannot be opened on a socket
  // (what Node's pipes are): give nginx a file as stdout.
  accessLog = openSync(join(dir, 'access.log'), 'a');
  // The container's main file too, over the same included files: it must at least load.
  writeFileSync(join(dir, 'nginx.prod.conf'), readFileSync(join(DEPLOY, 'nginx.conf')));
  writeFileSync(
    join(dir, 'mime.types'),
    existsSync('/etc/nginx/mime.types') ? readFileSync('/etc/nginx/mime.types') : 'types {}\n',
  );
  const prod = spawnSync(bin, ['-e', 'stderr', '-p', `${dir}/`, '-c', join(dir, 'nginx.prod.conf'), '-t'], {
    encoding: 'utf8',
    stdio: ['ignore', accessLog, 'pipe'],
  });
  expect(prod.status).toBe(0); // `nginx -t on deploy/nginx/nginx.conf: ${prod.stderr}`

  const args = ['-e', 'stderr', '-p', `${dir}/`, '-c', conf];
  const check = spawnSync(bin, [...args, '-t'], { encoding: 'utf8', stdio: ['ignore', accessLog, 'pipe'] });
  expect(check.status).toBe(0); // `nginx -t: ${check.stderr}`
  nginx = spawn(bin, [...args, '-g', 'daemon off;'], { stdio: ['ignore', accessLog, 'pipe'] });
  nginx.stderr!.setEncoding('utf8').on('data', (d: string) => (nginxErr += d));
  await waitForPort(ports.plain, nginx, () => nginxErr);
  await waitForPort(ports.https, nginx, () => nginxErr);
  viaNginx = `http://127.0.0.1:${ports.plain}`;
});

afterAll(async () => {
  for (const s of open) s.close();
  if (nginx && nginx.exitCode === null) {
    const exited = new Promise((resolve) => nginx.once('exit', resolve));
    nginx.kill('SIGTERM');
    await exited;
  }
  if (accessLog !== undefined) closeSync(accessLog);
  if (dir) rmSync(dir, { recursive: true, force: true });
  await control?.close();
  await b?.close();
  await a?.close();
  await db?.drop();
});

/** Opens a stream as a browser would: it always offers compression. */
async function stream(baseUrl: string, cookie: string): Promise<SseConnection> {
  const s = await openStream(baseUrl, cookie, { headers: { 'accept-encoding': 'gzip, deflate, br' } });
  open.push(s);
  expect(s.status).toBe(200); // `stream via ${baseUrl}: ${s.raw}`
  await s.waitForEvent('ready');
  return s;
}

function draft(userId: string, i: number): PersonalDraft {
  return {
    userId,
    channel: 'order',
    type: 'order.placed',
    severity: 'info',
    title: `Order #${i}`,
    body: 'Thanks!',
    data: { i },
  };
}

describe('nginx in front of two instances (deploy/nginx)', () => {
  it('passes every event through as soon as it is written, like a direct connection', async () => {
    const c = new Client(viaNginx);
    const user = await c.signUp('proxy@example.com');
    const proxied = [await stream(viaNginx, c.cookieHeader), await stream(viaNginx, c.cookieHeader)];
    const direct = [await stream(a.baseUrl, c.cookieHeader), await stream(b.baseUrl, c.cookieHeader)];
    // least_conn put one proxied stream on each instance: both fan-out paths are crossed.
    expect(a.app.get(StreamHub).size).toBe(2);
    expect(b.app.get(StreamHub).size).toBe(2);

    const publisher = a.app.get(NotificationPublisher);
    const latency = { direct: [] as number[], proxied: [] as number[] };
    const N = 20;
    for (let i = 1; i <= N; i++) {
      const start = performance.now();
      await publisher.send(draft(user.id, i));
      // Each event must come through nginx before the next one is published: a
      // buffering proxy holds small events back and this wait times out.
      const arrived = (s: SseConnection) => s.waitForNotifications(i, 5000).then(() => performance.now() - start);
      const [p1, p2, d1, d2] = await Promise.all([...proxied, ...direct].map(arrived));
      latency.proxied.push(p1, p2);
      latency.direct.push(d1, d2);
    }
    const expected = direct[0].notifications.map((e) => [e.id, e.data]);
    for (const s of [...proxied, direct[1]]) expect(s.notifications.map((e) => [e.id, e.data])).toStrictEqual(expected);
    console.log(
      `# publish→receive over ${N} events, median: direct ${median(latency.direct).toFixed(2)} ms, ` +
        `through nginx ${median(latency.proxied).toFixed(2)} ms ` +
        `(difference ${(median(latency.proxied) - median(latency.direct)).toFixed(2)} ms)`,
    );
    for (const s of [...proxied, ...direct]) s.close();
  });

  it(`keeps a heartbeat-only stream open past the proxy read timeout; without heartbeats nginx cuts it`, async () => {
    const c = new Client(viaNginx);
    await c.signUp('idle@example.com');
    const idle = await stream(viaNginx, c.cookieHeader);
    const quiet = await stream(`http://127.0.0.1:${ports.control}`, c.cookieHeader);
    const opened = performance.now();
    // Open for three read timeouts with nothing but `: ping` every HEARTBEAT_MS
    // (checked on each chunk that arrives, i.e. each ping).
    const outlived = () => performance.now() - opened > 3 * READ_TIMEOUT_S * 1000;
    await Promise.all([idle.until(outlived, 'three read timeouts', 30_000), quiet.waitForEnd(30_000)]);
    expect(idle.ended).toBe(false); // the heartbeat stream is still open
    expect(idle.comments.length >= (3 * READ_TIMEOUT_S * 1000) / HEARTBEAT_MS - 1).toBeTruthy(); // `${idle.comments.length} pings`
    expect(idle.notifications.length).toBe(0); // only heartbeats kept it alive
    expect(quiet.events.map((e) => e.event)).toStrictEqual(['ready']); // the control stream opened normally and was then cut by the read timeout
    idle.close();
  });

  it('serves TLS with HTTP/2 on the generated self-signed certificate, streams included; :80 redirects', async () => {
    const c = new Client(viaNginx);
    const user = await c.signUp('h2@example.com');
    const session = http2.connect(`https://127.0.0.1:${ports.https}`, {
      ca: readFileSync(join(dir, 'certs/server.crt')),
      servername: 'localhost',
    });
    try {
      await new Promise<void>((resolve, reject) => session.once('connect', () => resolve()).once('error', reject));
      expect(session.alpnProtocol).toBe('h2');
      const health = session.request({ ':path': '/health' });
      const status = await new Promise<number>((resolve) =>
        health.once('response', (h) => resolve(Number(h[':status']))),
      );
      health.resume();
      expect(status).toBe(200);

      const req = session.request({
        ':path': '/notifications/stream',
        cookie: c.cookieHeader,
        accept: 'text/event-stream',
      });
      let body = '';
      const headers = await new Promise<http2.IncomingHttpHeaders>((resolve) => req.once('response', resolve));
      expect(headers[':status']).toBe(200);
      expect(String(headers['content-type'])).toMatch(/^text\/event-stream/);
      req.setEncoding('utf8');
      // One listener for the whole stream: a flowing stream drops a chunk that finds none, and the
      // notification may arrive while the publish below is still being awaited.
      const arrived = new EventEmitter();
      req.on('data', (d: string) => {
        body += d;
        arrived.emit('chunk');
      });
      const seen = (text: string) =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no ${text} over h2: ${body}`)), 5000);
          const check = () => {
            if (!body.includes(text)) return;
            clearTimeout(timer);
            arrived.off('chunk', check);
            resolve();
          };
          arrived.on('chunk', check);
          check();
        });
      await seen('event: ready');
      await a.app.get(NotificationPublisher).send(draft(user.id, 1));
      await seen('event: order');
      req.close();
    } finally {
      session.close();
    }

    const redirect = await fetch(`http://127.0.0.1:${ports.http}/auth/me`, { redirect: 'manual' });
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get('location') ?? '').toMatch(/^https:\/\/127\.0\.0\.1\/auth\/me$/);
  });

  it('compresses JSON but never the stream, forwards a request id, and refuses /metrics from outside', async () => {
    const docs = await fetch(`${viaNginx}/docs-json`, { headers: { 'accept-encoding': 'gzip' } });
    expect(docs.status).toBe(200);
    expect(docs.headers.get('content-encoding')).toBe('gzip');
    await docs.arrayBuffer();

    const c = new Client(viaNginx);
    await c.signUp('gzip@example.com');
    const s = await stream(viaNginx, c.cookieHeader);
    expect(s.headers['content-encoding']).toBe(undefined);
    expect(String(s.headers['content-type'])).toMatch(/^text\/event-stream/);
    s.close();

    const generated = await fetch(`${viaNginx}/health`);
    expect(generated.headers.get('x-request-id') ?? '').toMatch(/^[0-9a-f]{32}$/); // nginx's $request_id reaches the app
    const given = await fetch(`${viaNginx}/health`, { headers: { 'x-request-id': 'edge-42' } });
    expect(given.headers.get('x-request-id')).toBe('edge-42');

    expect((await fetch(`${viaNginx}/metrics`)).status).toBe(403);
    expect((await fetch(`${a.baseUrl}/metrics`)).status).toBe(200);

    // An unsubscribe link's token is a credential in the URL (issue 19, finding 4).
    const token = '7.order.1790000000000.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB';
    await (await fetch(`${viaNginx}/unsubscribe?token=${token}`, { headers: { 'x-request-id': 'unsub-1' } })).text();

    // The access log: JSON lines with the same request id, and no cookie.
    const lines = readFileSync(join(dir, 'access.log'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const edge = lines.find((l) => l.requestId === 'edge-42');
    expect(edge).toBeTruthy(); // the access log line carries the request id
    expect(edge.status).toBe(200);
    expect(edge.upstream).toMatch(/^127\.0\.0\.1:\d+$/);
    const sid = c.cookies.get('sid')!;
    expect(!lines.some((l) => JSON.stringify(l).includes(sid))).toBeTruthy(); // no session cookie in the access log
    expect(lines.find((l) => l.requestId === 'unsub-1')?.uri).toBe('/unsubscribe?[redacted]');
    expect(!lines.some((l) => JSON.stringify(l).includes(token))).toBeTruthy(); // no unsubscribe token
  });

  it('refuses /metrics in every spelling on its own, and the app 404s the spellings it does not route', async () => {
    /** The status for this exact request target (no URL normalisation on the way). */
    const statusOf = (port: number, path: string) =>
      new Promise<number>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
          res.resume();
          res.once('end', () => resolve(res.statusCode ?? 0));
        });
        req.once('error', reject).end();
      });
    const spellings = [
      '/metrics',
      '/metrics/',
      '/METRICS',
      '/Metrics',
      '/mEtRiCs/',
      '/%6Detrics',
      '/%6detrics',
      '/%6D%65%74%72%69%63%73',
      '/%4Detrics',
      '//metrics',
      '/./metrics',
      '/x/../metrics',
      '/metrics%2F',
      '/metrics?x=1',
      '/metrics/x',
    ];
    const viaProxy = await Promise.all(spellings.map(async (p) => [p, await statusOf(ports.plain, p)]));
    expect(viaProxy).toStrictEqual(spellings.map((p) => [p, 403]));
    // Without nginx, the app itself answers only the exact spelling (Prometheus on the private network).
    const direct = await Promise.all(spellings.map(async (p) => [p, await statusOf(a.port, p)]));
    expect(direct).toStrictEqual(spellings.map((p) => [p, p === '/metrics' || p === '/metrics?x=1' ? 200 : 404]));
  });

  it('streams only the one spelling the app routes; other spellings are 404s, not unbuffered streams', async () => {
    const c = new Client(viaNginx);
    await c.signUp('spelling@example.com');
    for (const path of ['/Notifications/Stream', '/notifications/stream/', '/NOTIFICATIONS/STREAM']) {
      const res = await fetch(`${viaNginx}${path}`, { headers: { cookie: c.cookieHeader } });
      expect([path, res.status, String(res.headers.get('content-type'))]).toStrictEqual([
        path,
        404,
        'application/json; charset=utf-8',
      ]);
      await res.arrayBuffer();
    }
  });

  it('keeps the browser’s host and port for the origin check: own origin passes, a sibling origin is 403', async () => {
    const c = new Client(viaNginx);
    const own = { origin: viaNginx, 'sec-fetch-site': 'same-origin' };
    const sibling = { origin: `http://127.0.0.1:${ports.control}` };
    const register = (email: string, headers: Record<string, string>) =>
      c.post('/auth/register', { email, password: 'password-123' }, { headers });
    expect((await register('origin@example.com', own)).status).toBe(201);
    expect((await register('origin2@example.com', sibling)).status).toBe(403);
    expect((await c.login('origin@example.com')).status).toBe(200);
    const s = await openStream(viaNginx, c.cookieHeader, { headers: sibling });
    open.push(s);
    await s.waitForEnd(10_000);
    expect(s.status).toBe(403);
  });
});
