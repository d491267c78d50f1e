/**
 * The load process (forked by bench/run.ts, driven over IPC). It holds the
 * streams as raw TCP sockets and reads them cheaply: one shared read buffer
 * (net `onread`, no Buffer per chunk), events split on the blank line, and
 * only a substring search per event — never a JSON parse — for the few
 * fields it measures: `event: ready` (the cursor), the fan-out marker, and
 * `"t":` (the publish-call time stamped into targeted notifications).
 * It also issues the timed publishing requests itself (admin broadcast,
 * POST /orders), so that "publish call → receipt" is read on one clock.
 */
import http from 'node:http';
import net from 'node:net';
import { Samples, type Summary, now, round, sleep, summarize } from './common.js';

export interface StreamSpec {
  key: string;
  /** The user this stream belongs to (routing key for orders). */
  user: string;
  path: string;
  headers: Record<string, string>;
}

export interface Target {
  host: string;
  port: number;
}

export interface HttpCall {
  port: number;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: unknown;
}

const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

class Stream {
  sock: net.Socket | null = null;
  headDone = false;
  head = '';
  carry = '';
  status = 0;
  readyId: string | null = null;
  events = 0;
  closed = false;
  /** Fan-out: receipt time of the marked event, 0 while waiting. */
  fanAt = 0;
  /** Orders: when this user's POST /orders was sent, 0 when none is outstanding. */
  orderSentAt = 0;
  onReady: ((ok: boolean, why?: string) => void) | null = null;
  constructor(readonly spec: StreamSpec) {}
}

const streams = new Map<string, Stream>();
const byUser = new Map<string, Stream>();

// --------------------------------------------------------------- measurement state
let fanMarker: string | null = null;
let fanT0 = 0;
let fanWaiting = 0;
let fanDone: (() => void) | null = null;

const targeted = { count: 0, first: 0, last: 0, offset: 0, lat: new Samples(), step: -100 };
const orders = { delivered: 0, last: 0, lat: new Samples() };
let replayCount = 0;
let replayWant = 0;
let replayDone: (() => void) | null = null;
let replayKey: string | null = null;

/** The number written after `key` (at or past `from`), read without parsing the JSON. */
function numberAfter(ev: string, key: string, from: number): number | null {
  const k = ev.indexOf(key, from);
  if (k === -1) return null;
  let end = k + key.length;
  while (end < ev.length) {
    const c = ev.charCodeAt(end);
    if ((c < 48 || c > 57) && c !== 46 && c !== 45) break;
    end++;
  }
  return end > k + key.length ? Number(ev.slice(k + key.length, end)) : null;
}

function onEvent(s: Stream, ev: string, at: number): void {
  if (s.readyId === null) {
    const r = ev.indexOf('event: ready');
    if (r !== -1) {
      const i = ev.indexOf('\nid: ');
      s.readyId = i === -1 ? '' : ev.slice(i + 5, ev.indexOf('\n', i + 5));
      const cb = s.onReady;
      s.onReady = null;
      cb?.(true);
      return;
    }
  }
  if (ev.indexOf('data: {"id"') === -1) return; // read/reset/other control events
  s.events++;
  if (s.spec.key === replayKey) {
    if (++replayCount === replayWant) replayDone?.();
    return;
  }
  if (fanMarker !== null && s.fanAt === 0 && ev.indexOf(fanMarker) !== -1) {
    s.fanAt = at;
    if (--fanWaiting === 0) fanDone?.();
    return;
  }
  if (s.orderSentAt !== 0 && ev.indexOf('event: order') !== -1 && ev.indexOf('"order.placed"') !== -1) {
    orders.lat.push(at - s.orderSentAt);
    orders.delivered++;
    orders.last = at;
    s.orderSentAt = 0;
    return;
  }
  const d = ev.indexOf('"data":{');
  if (d === -1) return;
  const t = numberAfter(ev, '"t":', d);
  if (t === null || numberAfter(ev, '"s":', d) !== targeted.step) return;
  targeted.lat.push(at + targeted.offset - t);
  targeted.count++;
  if (targeted.first === 0) targeted.first = at;
  targeted.last = at;
}

function onBytes(s: Stream, nread: number): void {
  const at = now();
  let text = READ_BUFFER.toString('latin1', 0, nread);
  if (!s.headDone) {
    text = s.head + text;
    const end = text.indexOf('\r\n\r\n');
    if (end === -1) {
      s.head = text;
      return;
    }
    s.headDone = true;
    s.status = Number(text.slice(9, 12));
    s.head = '';
    if (s.status !== 200) {
      const cb = s.onReady;
      s.onReady = null;
      cb?.(false, `HTTP ${s.status}: ${text.slice(end + 4, end + 300).replace(/\s+/g, ' ')}`);
      s.sock?.destroy();
      return;
    }
    text = text.slice(end + 4);
  }
  // Events end with a blank line; HTTP chunk-size lines between writes never contain one.
  const buf = s.carry.length ? s.carry + text : text;
  let from = 0;
  for (;;) {
    const end = buf.indexOf('\n\n', from);
    if (end === -1) break;
    onEvent(s, buf.slice(from, end), at);
    from = end + 2;
  }
  s.carry = from === 0 ? buf : buf.slice(from);
}

function connect(target: Target, s: Stream, extraHeaders: Record<string, string> = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    s.onReady = (ok, why) => (ok ? resolve() : reject(new Error(why)));
    const sock = net.connect({
      host: target.host,
      port: target.port,
      onread: {
        buffer: READ_BUFFER,
        callback: (nread: number) => {
          onBytes(s, nread);
          return true;
        },
      },
    });
    s.sock = sock;
    sock.setNoDelay(true);
    sock.on('connect', () => {
      const headers = {
        Host: `${target.host}:${target.port}`,
        Accept: 'text/event-stream',
        ...s.spec.headers,
        ...extraHeaders,
      };
      sock.write(
        `GET ${s.spec.path} HTTP/1.1\r\n${Object.entries(headers)
          .map(([k, v]) => `${k}: ${v}\r\n`)
          .join('')}\r\n`,
      );
    });
    sock.on('error', (err) => {
      const cb = s.onReady;
      s.onReady = null;
      cb?.(false, err.message);
    });
    sock.on('close', () => {
      s.closed = true;
      const cb = s.onReady;
      s.onReady = null;
      cb?.(false, 'closed before ready');
    });
  });
}

/**
 * Opens `specs` with at most `concurrency` handshakes in flight; a handshake
 * ends with the stream's `ready` event (the baselines: their first event).
 * `ms` is the time until every stream had it; `ready` summarises each
 * stream's own connect → ready time.
 */
async function openMany(
  target: Target,
  specs: StreamSpec[],
  concurrency = 128,
  extraHeaders: Record<string, string> = {},
): Promise<{ opened: number; failed: number; firstError?: string; ms: number; ready: Summary }> {
  const started = now();
  const readyMs = new Samples();
  let next = 0;
  let failed = 0;
  let firstError: string | undefined;
  const worker = async () => {
    while (next < specs.length) {
      const spec = specs[next++];
      const s = new Stream(spec);
      streams.set(spec.key, s);
      byUser.set(spec.user, s);
      const t0 = now();
      try {
        await connect(target, s, extraHeaders);
        readyMs.push(now() - t0);
      } catch (err) {
        failed++;
        firstError ??= (err as Error).message;
        streams.delete(spec.key);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, specs.length) }, worker));
  return {
    opened: specs.length - failed,
    failed,
    firstError,
    ms: round(now() - started),
    ready: summarize(readyMs.values()),
  };
}

async function closeAll(): Promise<number> {
  const list = [...streams.values()];
  for (const s of list) s.sock?.destroy();
  streams.clear();
  byUser.clear();
  // Let the server see the FINs before anyone measures it.
  await sleep(list.length > 1000 ? 1000 : 200);
  return list.length;
}

function call(c: HttpCall): Promise<{ status: number; body: string; sentAt: number }> {
  return new Promise((resolve, reject) => {
    const payload = c.body === undefined ? undefined : JSON.stringify(c.body);
    const headers: Record<string, string> = { ...(c.headers ?? {}) };
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    const sentAt = now();
    const req = http.request(
      { host: '127.0.0.1', port: c.port, method: c.method, path: c.path, headers, agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), sentAt }),
        );
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Offset to add to this process's clock to read the server's (NTP-style, best of 20). */
async function clockOffset(probePort: number): Promise<{ offset: number; rtt: number }> {
  let best = { offset: 0, rtt: Infinity };
  for (let i = 0; i < 20; i++) {
    const t0 = now();
    const r = await call({ port: probePort, method: 'GET', path: '/clock' });
    const t1 = now();
    const server = JSON.parse(r.body).now as number;
    if (t1 - t0 < best.rtt) best = { offset: server - (t0 + t1) / 2, rtt: t1 - t0 };
  }
  return { offset: round(best.offset), rtt: round(best.rtt) };
}

async function fanout(publish: HttpCall, marker: string, timeoutMs: number) {
  const open = [...streams.values()].filter((s) => !s.closed);
  for (const s of open) s.fanAt = 0;
  fanMarker = marker;
  fanWaiting = open.length;
  const all = new Promise<void>((r) => (fanDone = r));
  const cpu0 = process.cpuUsage();
  const t0 = now();
  fanT0 = t0;
  const res = await call(publish);
  if (res.status >= 300) throw new Error(`publish answered ${res.status}: ${res.body.slice(0, 300)}`);
  const responseMs = now() - t0;
  await Promise.race([all, sleep(timeoutMs)]);
  const cpu = process.cpuUsage(cpu0);
  fanMarker = null;
  fanDone = null;
  const lat = new Samples();
  let missing = 0;
  for (const s of open) {
    if (s.fanAt) lat.push(s.fanAt - fanT0);
    else missing++;
  }
  // This process's own CPU per receipt: it must stay well below the server's for the figures to be the server's.
  const loadCpuPerReceiptUs = lat.length ? round((cpu.user + cpu.system) / lat.length, 2) : null;
  return { ...summarize(lat.values()), missing, responseMs: round(responseMs), loadCpuPerReceiptUs };
}

async function targetedStep(publish: HttpCall, step: number, offset: number, graceMs: number) {
  targeted.count = 0;
  targeted.first = 0;
  targeted.last = 0;
  targeted.lat.clear();
  targeted.offset = offset;
  targeted.step = step;
  const t0 = now();
  const cpu0 = process.cpuUsage();
  const res = await call(publish);
  if (res.status !== 200) throw new Error(`targeted publish answered ${res.status}: ${res.body.slice(0, 500)}`);
  const r = JSON.parse(res.body) as {
    offered: number;
    committed: number;
    failed: number;
    elapsedMs: number;
    lateMs: number;
    firstError?: string;
  };
  const deadline = now() + graceMs;
  while (targeted.count < r.committed && now() < deadline) await sleep(5);
  const spanMs = Math.max(targeted.last, t0 + (publish.body as { durationMs: number }).durationMs) - t0;
  const cpu = process.cpuUsage(cpu0);
  return {
    ...r,
    delivered: targeted.count,
    loadCpuUs: cpu.user + cpu.system,
    spanMs: round(spanMs),
    deliveredPerSecond: round((targeted.count * 1000) / spanMs, 1),
    latency: summarize(targeted.lat.values()),
  };
}

/** POST /orders at `rate` for `durationMs`, round-robin over users with no order outstanding. */
async function ordersStep(o: {
  port: number;
  rate: number;
  durationMs: number;
  graceMs: number;
  users: Array<{ user: string; cookie: string; csrf: string }>;
  body: unknown;
}) {
  orders.delivered = 0;
  orders.last = 0;
  orders.lat.clear();
  const response = new Samples();
  const total = Math.round((o.rate * o.durationMs) / 1000);
  const statuses: Record<string, number> = {};
  let firstError: string | undefined;
  let sent = 0;
  let skipped = 0;
  let cursor = 0;
  const pending: Promise<void>[] = [];
  const t0 = now();
  await new Promise<void>((done) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((now() - t0) * o.rate) / 1000) + 1);
      while (sent + skipped < due) {
        let u: (typeof o.users)[number] | undefined;
        for (let tries = 0; tries < o.users.length; tries++) {
          const cand = o.users[cursor++ % o.users.length];
          const s = byUser.get(cand.user);
          if (s && s.orderSentAt === 0) {
            u = cand;
            break;
          }
        }
        if (!u) {
          skipped++;
          continue;
        }
        const s = byUser.get(u.user)!;
        sent++;
        s.orderSentAt = now();
        pending.push(
          call({
            port: o.port,
            method: 'POST',
            path: '/orders',
            // x-bench-user: the Nest floor's stand-in for a session (the app ignores it).
            headers: { cookie: u.cookie, 'x-csrf-token': u.csrf, 'x-forwarded-proto': 'https', 'x-bench-user': u.user },
            body: o.body,
          }).then(
            (r) => {
              statuses[r.status] = (statuses[r.status] ?? 0) + 1;
              if (r.status === 201) response.push(now() - r.sentAt);
              if (r.status !== 201) {
                firstError ??= `${r.status} ${r.body.slice(0, 300)}`;
                s.orderSentAt = 0;
              }
            },
            (err: Error) => {
              statuses.error = (statuses.error ?? 0) + 1;
              firstError ??= err.message;
              s.orderSentAt = 0;
            },
          ),
        );
      }
      if (sent + skipped >= total) done();
      else setTimeout(tick, 1);
    };
    tick();
  });
  await Promise.all(pending);
  const ok = statuses['201'] ?? 0;
  const deadline = now() + o.graceMs;
  while (orders.delivered < ok && now() < deadline) await sleep(5);
  for (const s of streams.values()) s.orderSentAt = 0;
  const spanMs = Math.max(orders.last, t0 + o.durationMs) - t0;
  return {
    offered: total,
    sent,
    skipped,
    statuses,
    firstError,
    delivered: orders.delivered,
    spanMs: round(spanMs),
    deliveredPerSecond: round((orders.delivered * 1000) / spanMs, 1),
    /** POST /orders sent → its order.placed event on the user's stream. */
    latency: summarize(orders.lat.values()),
    /** POST /orders sent → 201 received. */
    response: summarize(response.values()),
  };
}

async function cursorOf(target: Target, spec: StreamSpec): Promise<string> {
  const s = new Stream(spec);
  await connect(target, s);
  s.sock?.destroy();
  return s.readyId ?? '';
}

async function replay(target: Target, spec: StreamSpec, lastEventId: string, expect: number, timeoutMs: number) {
  const s = new Stream(spec);
  replayKey = spec.key;
  replayCount = 0;
  replayWant = expect;
  const done = new Promise<void>((r) => (replayDone = r));
  const t0 = now();
  await connect(target, s, { 'Last-Event-ID': lastEventId });
  const readyMs = now() - t0;
  await Promise.race([done, sleep(timeoutMs)]);
  const ms = now() - t0;
  s.sock?.destroy();
  replayKey = null;
  replayDone = null;
  return { received: replayCount, expected: expect, ms: round(ms), readyMs: round(readyMs) };
}

// --------------------------------------------------------------- IPC
type Command =
  | {
      id: number;
      cmd: 'open';
      target: Target;
      specs: StreamSpec[];
      concurrency?: number;
      headers?: Record<string, string>;
    }
  | { id: number; cmd: 'closeAll' }
  | { id: number; cmd: 'count' }
  | { id: number; cmd: 'clock'; probePort: number }
  | { id: number; cmd: 'call'; call: HttpCall }
  | { id: number; cmd: 'fanout'; publish: HttpCall; marker: string; timeoutMs: number }
  | { id: number; cmd: 'targeted'; publish: HttpCall; step: number; offset: number; graceMs: number }
  | { id: number; cmd: 'orders'; orders: Parameters<typeof ordersStep>[0] }
  | { id: number; cmd: 'cursor'; target: Target; spec: StreamSpec }
  | {
      id: number;
      cmd: 'replay';
      target: Target;
      spec: StreamSpec;
      lastEventId: string;
      expect: number;
      timeoutMs: number;
    }
  | { id: number; cmd: 'exit' };

async function handle(m: Command): Promise<unknown> {
  switch (m.cmd) {
    case 'open':
      return openMany(m.target, m.specs, m.concurrency, m.headers);
    case 'closeAll':
      return closeAll();
    case 'count':
      return {
        open: [...streams.values()].filter((s) => !s.closed).length,
        events: [...streams.values()].reduce((a, s) => a + s.events, 0),
      };
    case 'clock':
      return clockOffset(m.probePort);
    case 'call':
      return call(m.call);
    case 'fanout':
      return fanout(m.publish, m.marker, m.timeoutMs);
    case 'targeted':
      return targetedStep(m.publish, m.step, m.offset, m.graceMs);
    case 'orders':
      return ordersStep(m.orders);
    case 'cursor':
      return cursorOf(m.target, m.spec);
    case 'replay':
      return replay(m.target, m.spec, m.lastEventId, m.expect, m.timeoutMs);
    case 'exit':
      await closeAll();
      setImmediate(() => process.exit(0));
      return {};
  }
}

process.on('message', (m: Command) => {
  handle(m).then(
    (result) => process.send!({ id: m.id, result }),
    (err: Error) => process.send!({ id: m.id, error: err.stack ?? String(err) }),
  );
});
process.on('disconnect', () => process.exit(0));
