import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import { connect, type Socket } from 'node:net';
import { Instance } from './support/cluster.js';
import { freshDatabase } from './support/app.js';
import { Client } from './support/http.js';
import { openStream } from './support/sse.js';

/**
 * Issue 24: SIGTERM behind a balancer. A balancer (nginx) keeps idle kept-alive connections to
 * the instance and may send a POST on one at any moment; if the instance closes it then, the POST
 * is reset and nginx answers 502 (it does not retry a POST). The built service, as a process.
 */
const DRAIN_MS = 4000;

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  reusedSocket: boolean;
}

function send(agent: http.Agent, base: string, method: string, path: string, headers = {}, body?: string) {
  return new Promise<Answer>((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method, agent, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, reusedSocket: req.reusedSocket }),
      );
    });
    req.once('error', reject);
    req.end(body);
  });
}

/** A kept-alive agent with one socket, and that socket once a response has freed it. */
function keptAlive(): { agent: http.Agent; socket: Promise<Socket> } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const socket = new Promise<Socket>((resolve) => agent.once('free', (s: Socket) => resolve(s)));
  return { agent, socket };
}

let db: { url: string; drop: () => Promise<void> };
let instance: Instance | undefined;

beforeAll(async () => {
  db = await freshDatabase();
});

afterAll(async () => {
  await instance?.kill();
  await db?.drop();
});

describe('SIGTERM drains without resetting a request', () => {
  it('serves a POST sent on a kept-alive connection after SIGTERM, refuses new connections, ends streams, closes idle sockets only after the window, exits 0', async () => {
    instance = await Instance.start({ databaseUrl: db.url, env: { SHUTDOWN_DRAIN_MS: String(DRAIN_MS) } });
    const base = instance.baseUrl;
    const shopper = new Client(base);
    await shopper.signUp('drain@example.com');
    const csrf = await shopper.fetchCsrf();
    const stream = await openStream(base, shopper.cookieHeader);
    await stream.waitForEvent('ready');

    // Two kept-alive connections, as a balancer holds them: one will carry a POST after the
    // signal, the other stays idle.
    const busy = keptAlive();
    const idle = keptAlive();
    const late = keptAlive();
    expect((await send(busy.agent, base, 'GET', '/health')).status).toBe(200);
    expect((await send(idle.agent, base, 'GET', '/health')).status).toBe(200);
    expect((await send(late.agent, base, 'GET', '/health')).status).toBe(200);
    const idleSocket = await idle.socket;
    const idleSince = Date.now();
    const idleClosed = new Promise<number>((resolve) => idleSocket.once('close', () => resolve(Date.now())));
    const busySocket = await busy.socket;

    instance.proc.kill('SIGTERM');
    await instance.waitForOutput(/SIGTERM: closing the listening socket/);

    // The stream ends at once (the client reconnects elsewhere and replays).
    await stream.waitForEnd(10_000);
    // A new connection is refused: a balancer tries the next instance.
    const refused = await new Promise<string>((resolve) =>
      connect(instance!.port, '127.0.0.1', () => resolve('connected')).once('error', (err: NodeJS.ErrnoException) =>
        resolve(err.code ?? err.message),
      ),
    );
    expect(refused).toBe('ECONNREFUSED');

    // The POST on the kept-alive connection is served, and that connection then closes.
    expect(busySocket.destroyed).toBe(false);
    const order = await send(
      busy.agent,
      base,
      'POST',
      '/orders',
      { cookie: shopper.cookieHeader, 'x-csrf-token': csrf, 'content-type': 'application/json' },
      JSON.stringify({ items: [{ sku: 'DRAIN-1', quantity: 1, unitPrice: 100 }] }),
    );
    expect([order.status, order.reusedSocket, order.headers.connection]).toStrictEqual([201, true, 'close']);

    // A stream opened on a kept-alive connection would hold the drain: its connection is closed
    // unanswered, as the closed listening socket refuses one (nginx passes the GET on).
    await late.socket;
    await expect(
      send(late.agent, base, 'GET', '/notifications/stream', { cookie: shopper.cookieHeader }),
    ).rejects.toThrow(/socket hang up|ECONNRESET/);

    // The idle connection is closed by the instance only after it was idle for the window.
    const closedAt = await idleClosed;
    expect(closedAt - idleSince).toBeGreaterThanOrEqual(DRAIN_MS - 100);
    expect(await instance.exited).toStrictEqual({ code: 0, signal: null });
    expect(instance.output).toMatch(
      /SIGTERM: drained \(\d+ answered with Connection: close, 1 stream opens refused, \d+ idle closed, 0 cut\)/,
    );
    busy.agent.destroy();
    idle.agent.destroy();
    late.agent.destroy();
  });
});
