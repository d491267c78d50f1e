import { createParser, type EventSourceMessage } from 'eventsource-parser';
import http from 'node:http';
import { CHANNELS } from '../../client/registry.js';

/**
 * Reads a stream the way a browser's EventSource does: raw HTTP, bytes kept
 * for exact-format assertions, events parsed by a spec-conformant parser.
 */
export interface SseEvent {
  event: string;
  id: string | undefined;
  data: string;
}

export class SseConnection {
  status = 0;
  headers: http.IncomingHttpHeaders = {};
  raw = '';
  body = '';
  events: SseEvent[] = [];
  comments: string[] = [];
  retry: number | undefined;
  ended = false;
  private waiters: Array<() => void> = [];
  private req: http.ClientRequest | null = null;
  private res: http.IncomingMessage | null = null;

  static open(url: string, headers: Record<string, string> = {}): Promise<SseConnection> {
    const conn = new SseConnection();
    return new Promise((resolve, reject) => {
      const parser = createParser({
        onEvent: (e: EventSourceMessage) => {
          conn.events.push({ event: e.event ?? 'message', id: e.id, data: e.data });
          conn.notify();
        },
        onComment: (c) => {
          conn.comments.push(c);
          conn.notify();
        },
        onRetry: (r) => {
          conn.retry = r;
        },
      });
      conn.req = http.get(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
        conn.res = res;
        conn.status = res.statusCode ?? 0;
        conn.headers = res.headers;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          conn.raw += chunk;
          if (conn.status === 200) parser.feed(chunk);
          conn.notify();
        });
        const done = () => {
          if (conn.ended) return;
          conn.ended = true;
          conn.body = conn.raw;
          conn.notify();
        };
        res.on('end', done);
        res.on('close', done);
        res.on('error', done);
        if (conn.status !== 200) {
          res.on('end', () => resolve(conn));
        } else {
          resolve(conn);
        }
      });
      conn.req.on('error', (err) => {
        if (conn.status === 0) reject(err);
        conn.ended = true;
        conn.notify();
      });
    });
  }

  private notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits until `check` holds, re-evaluated on every chunk; fails after `timeoutMs`. */
  async until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (this.ended && !check()) throw new Error(`stream ended before: ${what} (got ${this.events.length} events)`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for: ${what} (got ${this.events.length} events)`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Notification events (not ready/read/reset). */
  get notifications(): SseEvent[] {
    return this.events.filter((e) => (CHANNELS as readonly string[]).includes(e.event));
  }

  waitForNotifications(n: number, timeoutMs?: number): Promise<void> {
    return this.until(() => this.notifications.length >= n, `${n} notifications`, timeoutMs);
  }

  waitForEvent(name: string, timeoutMs?: number): Promise<SseEvent> {
    return this.until(() => this.events.some((e) => e.event === name), `event ${name}`, timeoutMs).then(() =>
      this.events.find((e) => e.event === name)!,
    );
  }

  waitForEnd(timeoutMs = 10_000): Promise<void> {
    return this.until(() => this.ended, 'end of stream', timeoutMs);
  }

  get lastId(): string | undefined {
    return [...this.events].reverse().find((e) => e.id !== undefined)?.id;
  }

  close(): void {
    this.req?.destroy();
    this.res?.destroy();
  }
}

/** Opens the stream with a client's cookies. */
export function openStream(
  baseUrl: string,
  cookie: string,
  options: { lastEventId?: string; channels?: string; query?: string; headers?: Record<string, string> } = {},
): Promise<SseConnection> {
  const qs = new URLSearchParams();
  if (options.channels !== undefined) qs.set('channels', options.channels);
  const query = options.query ?? qs.toString();
  const headers: Record<string, string> = { cookie, ...(options.headers ?? {}) };
  if (options.lastEventId !== undefined) headers['last-event-id'] = options.lastEventId;
  return SseConnection.open(`${baseUrl}/notifications/stream${query ? `?${query}` : ''}`, headers);
}
