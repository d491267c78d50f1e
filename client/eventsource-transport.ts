import type { ConnectRequest, Transport, TransportHandlers } from './connection.js';
import { CHANNELS } from './registry.js';

/** EventSource hands over only the event names it is told: every channel's, and the stream's own. */
const EVENT_NAMES = ['ready', 'read', 'reset', 'state', 'unsnoozed', ...CHANNELS, 'message'];

export interface EventSourceTransportOptions {
  /** The EventSource constructor (default: the global one). */
  EventSource?: typeof EventSource;
  /** For the sign-in probe (default: the global fetch). */
  fetch?: typeof fetch;
}

/**
 * The browser's own EventSource, with cookies (`withCredentials`).
 *
 * EventSource reports every failure as the same bare `error` event: a 401,
 * a 429, a restarting server and a dead network look alike. So on error the
 * source is closed (its built-in retry would neither back off nor stop on 401)
 * and `GET /auth/me` is asked: 401 means signed out, anything else is worth
 * another attempt. The reconnect is a new EventSource, which cannot set the
 * Last-Event-ID header, so the position goes in the `lastEventId` query
 * parameter the server reads when the header is absent.
 *
 * Browsers do not expose the server's `retry:` to scripts; the stream's
 * `retryMs` option (default 3000, the server's default) stands in for it.
 */
export function eventSourceTransport(options: EventSourceTransportOptions = {}): Transport {
  return {
    connect(request: ConnectRequest, handlers: TransportHandlers) {
      const Source = options.EventSource ?? globalThis.EventSource;
      const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
      let url = request.url;
      if (request.lastEventId !== null) {
        url += `${url.includes('?') ? '&' : '?'}lastEventId=${encodeURIComponent(request.lastEventId)}`;
      }
      const source = new Source(url, { withCredentials: true });
      let done = false;
      const onMessage = (e: Event) => {
        const m = e as MessageEvent<string>;
        if (!done) handlers.event({ event: e.type, id: m.lastEventId || undefined, data: m.data });
      };
      for (const name of EVENT_NAMES) source.addEventListener(name, onMessage);
      source.addEventListener('error', () => {
        if (done) return;
        done = true;
        source.close();
        doFetch(`${request.baseUrl.replace(/\/+$/, '')}/auth/me`, { credentials: 'include', cache: 'no-store' }).then(
          (res) => {
            void res.body?.cancel();
            handlers.end(res.status === 401 ? { kind: 'unauthorized' } : { kind: 'http', status: res.status });
          },
          (error: unknown) => handlers.end({ kind: 'network', error }),
        );
      });
      return {
        close() {
          done = true;
          source.close();
        },
      };
    },
  };
}
