/**
 * Pieces shared by the benchmark's processes: the clock, statistics, the
 * notification JSON every server sends (same shape and size everywhere, so
 * bytes on the wire are comparable), and the small control server through
 * which the orchestrator and the load process drive a server under test
 * (memory, clock, internal publishing). Nothing here is imported by src/.
 */
import http from 'node:http';
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes of one machine. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

export interface Summary {
  n: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
}

export function summarize(values: ArrayLike<number>): Summary {
  const n = values.length;
  if (n === 0) return { n, p50: null, p99: null, max: null, mean: null };
  const sorted = Float64Array.from(values).sort();
  const at = (p: number) => sorted[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))];
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i];
  return { n, p50: round(at(0.5)), p99: round(at(0.99)), max: round(sorted[n - 1]), mean: round(sum / n) };
}

export function median(values: Array<number | null | undefined>): number | null {
  const v = values.filter((x): x is number => typeof x === 'number').sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = Math.floor(v.length / 2);
  return round(v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2);
}

export function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A growable array of doubles that does not box every sample. */
export class Samples {
  private buf = new Float64Array(1024);
  length = 0;
  push(x: number): void {
    if (this.length === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = x;
  }
  values(): Float64Array {
    return this.buf.subarray(0, this.length);
  }
  clear(): void {
    this.length = 0;
  }
}

/**
 * The notification JSON the baselines send, shaped like the app's (contract
 * "A notification as JSON"): `data.t` is the publish-call time (now()) and
 * `data.s` the step, which the load process reads without parsing the JSON.
 */
export function notificationJson(
  id: number,
  channel: string,
  type: string,
  title: string,
  data: Record<string, unknown>,
) {
  return {
    id: String(id),
    channel,
    type,
    severity: 'info',
    title,
    body: BODY,
    data,
    createdAt: new Date().toISOString(),
    readAt: null,
  };
}

export const BODY = 'Your order is on its way and should arrive within two working days.';
export const TARGETED_TITLE = 'Order #1001 shipped';

/** Headers of a stream response, as the app sends them (CONTRACT "The stream"). */
export const SSE_HEADERS = {
  'Content-Type': 'text/event-stream',
  Connection: 'keep-alive',
  'Cache-Control': 'private, no-cache, no-store, must-revalidate, max-age=0, no-transform',
  'X-Accel-Buffering': 'no',
};

export function readyFrame(cursor: string, retryMs = 3000): string {
  return `event: ready\nid: ${cursor}\nretry: ${retryMs}\ndata: {"cursor":"${cursor}"}\n\n`;
}

// ---------------------------------------------------------------- memory

export interface Memory {
  heapUsed: number;
  heapTotal: number;
  rss: number;
  external: number;
  arrayBuffers: number;
}

/** Memory after full collections (the process runs with --expose-gc). */
export function memoryNow(): Memory {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
  const m = process.memoryUsage();
  return {
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    rss: m.rss,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
  };
}

/** Samples heapUsed/rss every few ms (no forced GC: this is the heap as it really grows). */
export class HeapSampler {
  private timer: NodeJS.Timeout | null = null;
  private maxHeap = 0;
  private maxRss = 0;
  private count = 0;
  start(): Memory {
    const before = memoryNow();
    this.maxHeap = before.heapUsed;
    this.maxRss = before.rss;
    this.count = 0;
    this.timer = setInterval(() => {
      const m = process.memoryUsage();
      this.maxHeap = Math.max(this.maxHeap, m.heapUsed);
      this.maxRss = Math.max(this.maxRss, m.rss);
      this.count++;
    }, 5);
    return before;
  }
  stop(): { maxHeap: number; maxRss: number; samples: number; after: Memory } {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    return { maxHeap: this.maxHeap, maxRss: this.maxRss, samples: this.count, after: memoryNow() };
  }
}

// ---------------------------------------------------------------- profiling (bench --profile)

/**
 * CPU profiles of a window (not of the whole process, as --cpu-prof would)
 * and heap snapshots, through the inspector of the process itself.
 */
export function profilingRoutes(): Record<string, Handler> {
  let session: Session | null = null;
  const post = (method: string, params?: object) =>
    new Promise<any>((resolve, reject) =>
      session!.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res))),
    );
  return {
    /** CPU time this process has used (user + system, µs): work per event, whatever else the machine runs. */
    '/cpu': () => {
      const c = process.cpuUsage();
      return { us: c.user + c.system };
    },
    '/profile/start': async () => {
      session ??= new Session();
      session.connect();
      await post('Profiler.enable');
      await post('Profiler.setSamplingInterval', { interval: 200 });
      await post('Profiler.start');
      return {};
    },
    '/profile/stop': async (b: { file: string }) => {
      const { profile } = await post('Profiler.stop');
      session!.disconnect();
      writeFileSync(b.file, JSON.stringify(profile));
      return { file: b.file };
    },
    '/heapsnapshot': (b: { file: string }) => {
      memoryNow();
      return { file: v8.writeHeapSnapshot(b.file) };
    },
  };
}

// ---------------------------------------------------------------- control server

export type Handler = (body: any) => unknown | Promise<unknown>;

/**
 * The control port of a server under test: POST/GET <path> with a JSON body,
 * JSON answer. Loopback only. The app gets it from bench/probe.ts (a preload
 * module), the baselines from their own file; the routes are the same.
 */
export function startControlServer(port: number, routes: Record<string, Handler>): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const route = routes[(req.url ?? '/').split('?')[0]];
      if (!route) {
        res.writeHead(404).end();
        return;
      }
      let body: unknown = {};
      try {
        if (chunks.length) body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        res.writeHead(400).end();
        return;
      }
      Promise.resolve()
        .then(() => route(body))
        .then(
          (out) => {
            res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out ?? {}));
          },
          (err: Error) => {
            res
              .writeHead(500, { 'content-type': 'application/json' })
              .end(JSON.stringify({ error: err.stack ?? String(err) }));
          },
        );
    });
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/**
 * Publishes at `rate` per second for `durationMs`, calling `send(i)` for each;
 * paced against the clock (catching up after a late timer), so the offered
 * rate is the asked one as long as the process keeps up.
 */
export async function paced(
  rate: number,
  durationMs: number,
  send: (i: number) => Promise<unknown> | void,
): Promise<{
  offered: number;
  committed: number;
  failed: number;
  elapsedMs: number;
  lateMs: number;
  firstError?: string;
}> {
  const total = Math.round((rate * durationMs) / 1000);
  const start = now();
  let offered = 0;
  let committed = 0;
  let failed = 0;
  let firstError: string | undefined;
  const pending: Promise<unknown>[] = [];
  await new Promise<void>((done) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((now() - start) * rate) / 1000) + 1);
      while (offered < due) {
        const p = send(offered++);
        if (p) {
          pending.push(
            p.then(
              () => void committed++,
              (err: Error) => {
                failed++;
                firstError ??= err.message;
              },
            ),
          );
        } else committed++;
      }
      if (offered >= total) done();
      else setTimeout(tick, 1);
    };
    tick();
  });
  const offeredAt = now();
  await Promise.all(pending);
  return { offered, committed, failed, elapsedMs: round(now() - start), lateMs: round(now() - offeredAt), firstError };
}
