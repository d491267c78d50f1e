import { createParser } from 'eventsource-parser';
import type { ConnectRequest, Transport, TransportEnd, TransportHandlers } from './connection.js';

export interface FetchTransportOptions {
  /** Extra request headers (a cookie or an authorization header); a function is asked on every connect. */
  headers?: Record<string, string> | (() => Record<string, string>);
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
  /**
   * Default 'include': send the browser's cookies along. (Spelled out rather
   * than DOM's `RequestCredentials`, so Node projects type-check this entry
   * without the DOM lib.)
   */
  credentials?: 'include' | 'same-origin' | 'omit';
}

/**
 * The stream read through `fetch`, for Node and for anything that must set
 * headers: sends `Last-Event-ID` as a header, sees the status (401 stops the
 * stream without a probe) and the server's `retry:`. The bytes are parsed by
 * eventsource-parser, which follows the EventSource spec (CRLF, BOM, comments,
 * multi-line data).
 *
 * This file imports a package by name, so browsers load it only through a
 * bundler; pages without one use the EventSource transport.
 */
export function fetchTransport(options: FetchTransportOptions = {}): Transport {
  return {
    connect(request: ConnectRequest, handlers: TransportHandlers) {
      const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
      const abort = new AbortController();
      let done = false;
      const finish = (how: TransportEnd) => {
        if (done) return;
        done = true;
        handlers.end(how);
      };
      const extra = typeof options.headers === 'function' ? options.headers() : (options.headers ?? {});
      const headers: Record<string, string> = { accept: 'text/event-stream', ...extra };
      if (request.lastEventId !== null) headers['last-event-id'] = request.lastEventId;

      void (async () => {
        let res: Response;
        try {
          res = await doFetch(request.url, {
            headers,
            credentials: options.credentials ?? 'include',
            cache: 'no-store',
            signal: abort.signal,
          });
        } catch (error) {
          return finish({ kind: 'network', error });
        }
        const type = res.headers.get('content-type') ?? '';
        if (res.status !== 200 || !res.body || !type.startsWith('text/event-stream')) {
          await res.body?.cancel().catch(() => undefined);
          return finish(res.status === 401 ? { kind: 'unauthorized' } : { kind: 'http', status: res.status });
        }
        const parser = createParser({
          onEvent: (e) => {
            if (!done) handlers.event({ event: e.event ?? 'message', id: e.id, data: e.data });
          },
          onRetry: (ms) => {
            if (!done) handlers.retry(ms);
          },
        });
        const reader = res.body.getReader();
        const decoder = new TextDecoder();
        try {
          for (;;) {
            const { done: eof, value } = await reader.read();
            if (eof || done) break;
            parser.feed(decoder.decode(value, { stream: true }));
          }
          finish({ kind: 'ended' });
        } catch (error) {
          finish({ kind: 'network', error });
        }
      })();

      return {
        close() {
          done = true;
          abort.abort();
        },
      };
    },
  };
}
