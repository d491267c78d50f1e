/**
 * BASELINE 2, the naive pattern seen in many SSE tutorials: Express, one
 * EventEmitter that every connection adds a listener to (each listener
 * filters by user, so every event visits every connection), one heartbeat
 * timer per connection, and JSON.stringify of the message per connection.
 * No auth, no database. Replay stringifies each stored object again.
 *
 *   PORT=… BENCH_PROBE_PORT=… node --expose-gc dist/bench/baseline-naive.js
 */
import { EventEmitter } from 'node:events';
import express from 'express';
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

interface Message {
  userId: string | null;
  id: number;
  channel: string;
  json: ReturnType<typeof notificationJson>;
}

const events = new EventEmitter();
events.setMaxListeners(0);
const history: Message[] = [];
let lastId = 0;
let open = 0;

const app = express();
app.get('/stream', (req, res) => {
  const user = String(req.query.user ?? '0');
  const lastEventId = req.get('last-event-id');
  req.socket.setNoDelay(true);
  res.writeHead(200, SSE_HEADERS);
  res.write(readyFrame(lastEventId ?? String(lastId)));
  const write = (m: Message) => res.write(`event: ${m.channel}\nid: ${m.id}\ndata: ${JSON.stringify(m.json)}\n\n`);
  if (lastEventId !== undefined) {
    const from = Number(lastEventId);
    for (const m of history) if (m.id > from && m.userId === user) write(m);
  }
  const listener = (m: Message) => {
    if (m.userId === null || m.userId === user) write(m);
  };
  events.on('notification', listener);
  const heartbeat = setInterval(() => res.write(': ping\n\n'), heartbeatMs);
  open++;
  req.on('close', () => {
    open--;
    clearInterval(heartbeat);
    events.off('notification', listener);
  });
});

function emit(
  userId: string | null,
  channel: string,
  type: string,
  title: string,
  data: Record<string, unknown>,
): Message {
  const id = ++lastId;
  const m: Message = { userId, id, channel, json: notificationJson(id, channel, type, title, data) };
  events.emit('notification', m);
  return m;
}

const sampler = new HeapSampler();
await startControlServer(probePort, {
  ...profilingRoutes(),
  '/memory': () => memoryNow(),
  '/clock': () => ({ now: now() }),
  '/sample/start': () => sampler.start(),
  '/sample/stop': () => sampler.stop(),
  '/streams': () => ({ streams: open }),
  '/broadcast': (b: { title: string }) => ({ id: String(emit(null, 'system', 'system.broadcast', b.title, {}).id) }),
  '/targeted': (b: { rate: number; durationMs: number; users: string[]; step: number }) =>
    paced(
      b.rate,
      b.durationMs,
      (i) => void emit(b.users[i % b.users.length], 'order', 'order.shipped', TARGETED_TITLE, { t: now(), s: b.step }),
    ),
  '/bulk': (b: { user: string; count: number }) => {
    const first = lastId + 1;
    for (let i = 0; i < b.count; i++) {
      const id = ++lastId;
      history.push({
        userId: b.user,
        id,
        channel: 'order',
        json: notificationJson(id, 'order', 'order.shipped', TARGETED_TITLE, { t: now(), s: -1, i }),
      });
    }
    return { first: String(first), last: String(lastId) };
  },
});

const server = app.listen(port, '127.0.0.1', () => console.log(`naive baseline listening on ${port}`));
server.keepAliveTimeout = 0;
server.requestTimeout = 0;
process.on('SIGTERM', () => process.exit(0));
