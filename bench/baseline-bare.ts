/**
 * BASELINE 1, the floor: a bare node:http SSE broadcaster. Open responses sit
 * in a Set (and a Map by user for targeted messages); a message is formatted
 * into one frame string once and that string is written to each response.
 * One shared heartbeat timer. No auth, no database: its "persisted" figures
 * are delivery only. Replay writes prebuilt frame strings from memory.
 *
 *   PORT=… BENCH_PROBE_PORT=… node --expose-gc dist/bench/baseline-bare.js
 */
import http from 'node:http';
import {
  HeapSampler,
  SSE_HEADERS,
  TARGETED_TITLE,
  memoryNow,
  notificationJson,
  now,
  paced,
  profilingRoutes,
  readyFrame,
  startControlServer,
} from './common.js';

const port = Number(process.env.PORT);
const probePort = Number(process.env.BENCH_PROBE_PORT);
const heartbeatMs = Number(process.env.HEARTBEAT_MS ?? 15000);

const all = new Set<http.ServerResponse>();
const byUser = new Map<string, Set<http.ServerResponse>>();
/** Per-user history for replay: [id, frame] in id order. */
const history = new Map<string, Array<[number, string]>>();
let lastId = 0;

function frame(id: number, channel: string, json: unknown): string {
  return `event: ${channel}\nid: ${id}\ndata: ${JSON.stringify(json)}\n\n`;
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname !== '/stream') {
    res.writeHead(404).end();
    return;
  }
  const user = url.searchParams.get('user') ?? '0';
  const lastEventId = req.headers['last-event-id'];
  req.socket.setNoDelay(true);
  res.writeHead(200, SSE_HEADERS);
  const cursor = typeof lastEventId === 'string' ? lastEventId : String(lastId);
  res.write(readyFrame(cursor));
  if (typeof lastEventId === 'string') {
    const from = Number(lastEventId);
    for (const [id, f] of history.get(user) ?? []) if (id > from) res.write(f);
  }
  all.add(res);
  let mine = byUser.get(user);
  if (!mine) byUser.set(user, (mine = new Set()));
  mine.add(res);
  res.on('close', () => {
    all.delete(res);
    mine.delete(res);
    if (mine.size === 0) byUser.delete(user);
  });
});
server.keepAliveTimeout = 0;
server.requestTimeout = 0;

setInterval(() => {
  for (const res of all) res.write(': ping\n\n');
}, heartbeatMs).unref();

function sendTo(user: string, data: Record<string, unknown>): void {
  const id = ++lastId;
  const f = frame(id, 'order', notificationJson(id, 'order', 'order.shipped', TARGETED_TITLE, data));
  const streams = byUser.get(user);
  if (streams) for (const res of streams) res.write(f);
}

const sampler = new HeapSampler();
await startControlServer(probePort, {
  ...profilingRoutes(),
  '/memory': () => memoryNow(),
  '/clock': () => ({ now: now() }),
  '/sample/start': () => sampler.start(),
  '/sample/stop': () => sampler.stop(),
  '/streams': () => ({ streams: all.size }),
  '/broadcast': (b: { title: string }) => {
    const id = ++lastId;
    const f = frame(id, 'system', notificationJson(id, 'system', 'system.broadcast', b.title, {}));
    for (const res of all) res.write(f);
    return { id: String(id) };
  },
  '/targeted': (b: { rate: number; durationMs: number; users: string[]; step: number }) =>
    paced(b.rate, b.durationMs, (i) => sendTo(b.users[i % b.users.length], { t: now(), s: b.step })),
  '/bulk': (b: { user: string; count: number }) => {
    const list = history.get(b.user) ?? [];
    history.set(b.user, list);
    const first = lastId + 1;
    for (let i = 0; i < b.count; i++) {
      const id = ++lastId;
      list.push([
        id,
        frame(id, 'order', notificationJson(id, 'order', 'order.shipped', TARGETED_TITLE, { t: now(), s: -1, i })),
      ]);
    }
    return { first: String(first), last: String(lastId) };
  },
});

server.listen(port, '127.0.0.1', () => console.log(`bare baseline listening on ${port}`));
process.on('SIGTERM', () => process.exit(0));
