import { createParser } from 'eventsource-parser';
import http from 'node:http';
import { CHANNELS } from '../../client/registry.js';

const NOTIFICATION_EVENTS = new Set<string>(CHANNELS);

/**
 * What a browser's EventSource does behind a load balancer, without the
 * browser: one stream at a time, and whenever it ends (the server ended it,
 * the instance died, or the test tells it to hop) it reconnects to whichever
 * instance it is given, sending its Last-Event-ID. It records every
 * notification id it receives, and counts any that is not above the previous
 * one (a duplicate or a step back).
 */
export class ResumingClient {
  readonly received: number[] = [];
  duplicates = 0;
  outOfOrder = 0;
  connects = 0;
  failedConnects = 0;
  /** When each 200 arrived, and from which upstream (nginx's X-Upstream, where a test adds it). */
  readonly opened: Array<{ at: number; upstream: string | undefined }> = [];
  /** When each stream ended (the server ended it, or it failed). */
  readonly endedAt: number[] = [];
  /** `ready` events received: the stream is registered and will get what commits from now on. */
  readies = 0;
  /** Wait what the server's `retry:` says before reconnecting, as EventSource does. */
  followServerRetry = false;
  /** Answers other than 200 and connection errors, for the failure message. */
  readonly problems: string[] = [];
  lastEventId: string | undefined;
  private req: http.ClientRequest | null = null;
  private generation = 0;
  private stopped = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private listeners: Array<() => void> = [];

  constructor(
    readonly name: string,
    private readonly cookie: string,
    /** Where to (re)connect: a live instance's base URL, or null if none is up. */
    private readonly pickInstance: () => string | null,
    lastEventId?: string,
    private retryMs = 100,
  ) {
    this.lastEventId = lastEventId;
  }

  get connected(): boolean {
    return this.req !== null;
  }

  /** Opens a stream now (closing the current one first). */
  connect(): void {
    if (this.stopped) return;
    this.clearTimer();
    this.drop();
    const base = this.pickInstance();
    if (!base) return this.scheduleReconnect();
    const gen = ++this.generation;
    const headers: Record<string, string> = { accept: 'text/event-stream', cookie: this.cookie };
    if (this.lastEventId !== undefined) headers['last-event-id'] = this.lastEventId;
    const req = http.get(`${base}/notifications/stream`, { headers });
    this.req = req;
    req.on('response', (res) => {
      if (gen !== this.generation) return void res.destroy();
      if (res.statusCode !== 200) {
        this.failedConnects++;
        this.problems.push(`${base}: ${res.statusCode}`);
        res.resume();
        res.on('end', () => this.ended(gen));
        return;
      }
      this.connects++;
      const upstream = res.headers['x-upstream'];
      this.opened.push({ at: Date.now(), upstream: Array.isArray(upstream) ? upstream[0] : upstream });
      const parser = createParser({
        onRetry: (ms) => {
          if (this.followServerRetry && gen === this.generation) this.retryMs = ms;
        },
        onEvent: (e) => {
          if (gen !== this.generation) return;
          if (e.event === 'ready') this.readies++;
          if (e.event && NOTIFICATION_EVENTS.has(e.event) && e.id !== undefined) {
            const id = Number(e.id);
            const last = this.received.length ? this.received[this.received.length - 1] : 0;
            if (id <= last) {
              if (this.received.includes(id)) this.duplicates++;
              else this.outOfOrder++;
            }
            this.received.push(id);
          }
          if (e.id !== undefined) this.lastEventId = e.id;
          this.notify();
        },
      });
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (gen === this.generation) parser.feed(chunk);
      });
      res.on('end', () => this.ended(gen));
      res.on('close', () => this.ended(gen));
      res.on('error', () => this.ended(gen));
    });
    req.on('error', (err) => {
      if (gen !== this.generation) return;
      this.failedConnects++;
      this.problems.push(`${base}: ${(err as NodeJS.ErrnoException).code ?? err.message}`);
      this.ended(gen);
    });
  }

  /** Leave the current instance and resume on another, as after a network change. */
  hop(): void {
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.clearTimer();
    this.drop();
  }

  /** Waits until `check` holds (re-checked on every event), or throws after the deadline. */
  async until(check: () => boolean, what: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name}: timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.listeners.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  private notify(): void {
    for (const l of this.listeners.splice(0)) l();
  }

  private ended(gen: number): void {
    if (gen !== this.generation) return;
    this.generation++;
    this.req = null;
    this.endedAt.push(Date.now());
    this.scheduleReconnect();
    this.notify();
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, this.retryMs);
  }

  private clearTimer(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
  }

  private drop(): void {
    this.generation++;
    const req = this.req;
    this.req = null;
    req?.destroy();
  }
}
