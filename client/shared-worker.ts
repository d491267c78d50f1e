/**
 * The SharedWorker that holds the one stream connection of every tab of this
 * origin (loaded as a module: `new SharedWorker(url, { type: 'module' })`).
 * Tabs say hello, ask for a restart after signing in, and say bye when they
 * go; the worker relays every event and state change to all of them. The
 * stream lives as long as a tab is attached.
 */
import { NotificationStream } from './connection.js';
import { eventSourceTransport } from './eventsource-transport.js';
import type { FromHub, ToHub } from './shared.js';
import type { StateChange } from './types.js';

interface SharedWorkerScope {
  onconnect: ((event: MessageEvent) => void) | null;
}

const ports = new Set<MessagePort>();
let stream: NotificationStream | null = null;
let lastChange: StateChange | null = null;

function broadcast(message: FromHub): void {
  for (const port of ports) port.postMessage(message);
}

/** The first tab's base URL wins: tabs of one origin talk to one service. */
function ensureStream(baseUrl = ''): NotificationStream {
  if (stream) return stream;
  stream = new NotificationStream({ transport: eventSourceTransport(), baseUrl, start: false });
  stream.onWire((event) => broadcast({ t: 'event', event }));
  stream.on('state', (change) => {
    lastChange = change;
    broadcast({ t: 'state', change });
  });
  stream.restart();
  return stream;
}

function detach(port: MessagePort): void {
  if (!ports.delete(port)) return;
  if (ports.size === 0) stream?.close(); // nobody is listening; a next tab reopens from the same position
}

(globalThis as unknown as SharedWorkerScope).onconnect = (e: MessageEvent) => {
  const port = e.ports[0];
  port.onmessage = (m: MessageEvent<ToHub>) => {
    const message = m.data;
    if (message.t === 'hello') {
      ports.add(port);
      const existing = stream;
      const s = ensureStream(message.baseUrl);
      if (existing && (message.fresh || s.state === 'closed'))
        s.restart({ fresh: message.fresh }); // a new tab may follow a sign-in
      else if (existing && lastChange) port.postMessage({ t: 'state', change: lastChange } satisfies FromHub);
    } else if (message.t === 'restart') {
      ensureStream().restart({ fresh: message.fresh });
    } else if (message.t === 'bye') {
      detach(port);
    }
  };
  // Newer browsers tell us when a tab's port is gone, even if it could not say bye.
  port.addEventListener('close', () => detach(port));
  port.start();
};
