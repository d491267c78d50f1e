import { NotificationStream, STATE_EVENTS, emitWire } from './connection.js';
import { Emitter } from './emitter.js';
import { eventSourceTransport } from './eventsource-transport.js';
import { compareIds } from './inbox.js';
import type { ConnectionState, NotificationSource, StateChange, StreamEvents, WireEvent } from './types.js';

/** Messages between tabs and the holder of the connection (a SharedWorker or the leader tab). */
export type ToHub = { t: 'hello'; baseUrl: string; fresh?: boolean } | { t: 'restart'; fresh?: boolean } | { t: 'bye' };
export type FromHub = { t: 'state'; change: StateChange } | { t: 'event'; event: WireEvent };

/**
 * How this tab reaches the stream:
 * - `shared-worker`: one SharedWorker holds the connection for every tab of the origin;
 * - `leader`: the tab holding a Web Lock holds it and relays over a BroadcastChannel;
 *   when it closes, the lock passes to another tab, which resumes from the last id it saw;
 * - `direct`: this tab holds its own connection.
 */
export type SharingMode = 'shared-worker' | 'leader' | 'direct';

export interface SharedStreamOptions {
  /** The service's origin and path prefix; '' (the default) is the page's own origin. */
  baseUrl?: string;
  /** 'auto' (default) picks the first mode this browser supports, in the order above. */
  mode?: 'auto' | SharingMode;
  /** The SharedWorker script (default: shared-worker.js next to this module). */
  workerUrl?: string | URL;
  /** Tabs with the same name share one connection (default 'notifications'). */
  name?: string;
  /** See StreamOptions.retryMs / maxRetryMs. */
  retryMs?: number;
  maxRetryMs?: number;
  /**
   * false: connect on the first `restart()`, not now; for a page that knows nobody is signed in
   * (a stream opened without a session answers 401, which the browser logs as an error).
   */
  start?: boolean;
}

interface Backend {
  restart(fresh: boolean): void;
  close(): void;
}

/**
 * A tab's view of the one connection its browser holds. It offers the same
 * API as a direct NotificationStream, so a page does not care which mode it got.
 */
export class SharedStream implements NotificationSource {
  private readonly emitter = new Emitter<StreamEvents>();
  private readonly roleEmitter = new Emitter<{ role: SharedStream['role'] }>();
  private backend: Backend | null = null;
  private _state: ConnectionState = 'connecting';
  private _lastEventId: string | null = null;
  private _mode: SharingMode;
  private _role: 'worker' | 'leader' | 'follower' | 'direct' = 'direct';

  constructor(private readonly options: SharedStreamOptions = {}) {
    const wanted = options.mode ?? 'auto';
    this._mode = wanted === 'auto' ? detectMode() : wanted;
    if (options.start === false) this._state = 'closed';
    else this.backend = this.start(this._mode);
  }

  get state(): ConnectionState {
    return this._state;
  }
  get lastEventId(): string | null {
    return this._lastEventId;
  }
  get mode(): SharingMode {
    return this._mode;
  }
  /** Who holds the connection, seen from this tab. */
  get role(): 'worker' | 'leader' | 'follower' | 'direct' {
    return this._role;
  }

  on<K extends keyof StreamEvents>(type: K, listener: (payload: StreamEvents[K]) => void): () => void {
    return this.emitter.on(type, listener);
  }

  onRoleChange(listener: (role: SharedStream['role']) => void): () => void {
    return this.roleEmitter.on('role', listener);
  }

  restart(options: { fresh?: boolean } = {}): void {
    if (options.fresh) this._lastEventId = null;
    if (this.backend) this.backend.restart(!!options.fresh);
    else this.backend = this.start(this._mode, !!options.fresh);
  }

  close(): void {
    this.backend?.close();
    this.setState({ state: 'closed', reason: 'stopped', lastEventId: this._lastEventId });
  }

  /** @internal An event from whoever holds the connection. */
  deliver(event: WireEvent): void {
    if (event.event === 'ready') {
      this._lastEventId = event.id; // the server's position, even when it moved back (unknown-cursor)
    } else if (STATE_EVENTS.has(event.event)) {
      // state, not history: the id is the cursor and moves nothing
    } else {
      // A handover can overlap for a moment; a notification at or before our position was shown already.
      if (this._lastEventId !== null && compareIds(event.id, this._lastEventId) <= 0) return;
      this._lastEventId = event.id;
    }
    emitWire(this.emitter, event);
  }

  /** @internal */
  setState(change: StateChange): void {
    this._state = change.state;
    this.emitter.emit('state', { ...change, lastEventId: this._lastEventId });
  }

  /** @internal */
  setRole(role: SharedStream['role']): void {
    this._role = role;
    this.roleEmitter.emit('role', role);
  }

  /** `fresh`: a tab joining a connection others hold asks for it to start over (a new sign-in). */
  private start(mode: SharingMode, fresh = false): Backend {
    if (mode === 'shared-worker') {
      try {
        return new WorkerBackend(this, this.options, () => this.fallBack(), fresh);
      } catch {
        return this.fallBack();
      }
    }
    if (mode === 'leader' && canElect()) return new LeaderBackend(this, this.options, fresh);
    this._mode = 'direct';
    return new DirectBackend(this, this.options, null);
  }

  private fallBack(): Backend {
    this._mode = canElect() ? 'leader' : 'direct';
    this.backend?.close();
    this.backend = this.start(this._mode);
    return this.backend;
  }
}

function canElect(): boolean {
  return typeof BroadcastChannel === 'function' && typeof navigator !== 'undefined' && !!navigator.locks;
}

function detectMode(): SharingMode {
  if (typeof SharedWorker === 'function') return 'shared-worker';
  return canElect() ? 'leader' : 'direct';
}

function streamOptions(options: SharedStreamOptions, lastEventId: string | null) {
  return {
    transport: eventSourceTransport(),
    baseUrl: options.baseUrl,
    lastEventId,
    retryMs: options.retryMs,
    maxRetryMs: options.maxRetryMs,
  };
}

/** Wires a stream held here to a tab (and, for a leader, to a relay). */
function pipe(stream: NotificationStream, tab: SharedStream, relay?: (m: FromHub) => void): () => void {
  const offWire = stream.onWire((event) => {
    tab.deliver(event);
    relay?.({ t: 'event', event });
  });
  const offState = stream.on('state', (change) => {
    tab.setState(change);
    relay?.({ t: 'state', change });
  });
  return () => {
    offWire();
    offState();
  };
}

class DirectBackend implements Backend {
  private readonly stream: NotificationStream;
  constructor(tab: SharedStream, options: SharedStreamOptions, lastEventId: string | null) {
    tab.setRole('direct');
    this.stream = new NotificationStream({ ...streamOptions(options, lastEventId), start: false });
    pipe(this.stream, tab);
    this.stream.restart();
  }
  restart(fresh: boolean): void {
    this.stream.restart({ fresh });
  }
  close(): void {
    this.stream.close();
  }
}

class WorkerBackend implements Backend {
  private readonly port: MessagePort;
  private readonly bye = () => this.port.postMessage({ t: 'bye' } satisfies ToHub);

  constructor(tab: SharedStream, options: SharedStreamOptions, onFailure: () => void, fresh: boolean) {
    const url = options.workerUrl ?? new URL('./shared-worker.js', import.meta.url);
    const worker = new SharedWorker(url, { type: 'module', name: options.name ?? 'notifications' });
    tab.setRole('worker');
    this.port = worker.port;
    worker.addEventListener('error', () => onFailure());
    this.port.onmessage = (e: MessageEvent<FromHub>) => {
      if (e.data.t === 'event') tab.deliver(e.data.event);
      else tab.setState(e.data.change);
    };
    this.port.start();
    this.port.postMessage({ t: 'hello', baseUrl: options.baseUrl ?? '', fresh } satisfies ToHub);
    // The worker drops its connection when the last tab has said goodbye.
    globalThis.addEventListener?.('pagehide', this.bye);
  }
  restart(fresh: boolean): void {
    this.port.postMessage({ t: 'restart', fresh } satisfies ToHub);
  }
  close(): void {
    globalThis.removeEventListener?.('pagehide', this.bye);
    this.bye();
    this.port.close();
  }
}

/**
 * Leader election through a Web Lock: exactly one tab holds it; the others
 * queue for it. Closing the leader tab releases the lock, the next tab in the
 * queue becomes leader and connects from the last id it was relayed, so the
 * replay covers the handover. Events travel on a BroadcastChannel.
 */
class LeaderBackend implements Backend {
  private readonly channel: BroadcastChannel;
  private readonly abort = new AbortController();
  private stream: NotificationStream | null = null;
  private unpipe: (() => void) | null = null;
  private lastChange: StateChange | null = null;
  private resign: (() => void) | null = null;
  private closed = false;

  constructor(
    private readonly tab: SharedStream,
    private readonly options: SharedStreamOptions,
    fresh: boolean,
  ) {
    const name = options.name ?? 'notifications';
    this.channel = new BroadcastChannel(name);
    tab.setRole('follower');
    this.channel.onmessage = (e: MessageEvent<ToHub | FromHub>) => this.onMessage(e.data);
    navigator.locks.request(`${name}:leader`, { signal: this.abort.signal }, () => this.lead()).catch(() => undefined); // aborted by close()
    this.channel.postMessage({ t: 'hello', baseUrl: options.baseUrl ?? '', fresh } satisfies ToHub);
  }

  private lead(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.tab.setRole('leader');
    const stream = new NotificationStream({ ...streamOptions(this.options, this.tab.lastEventId), start: false });
    this.stream = stream;
    this.unpipe = pipe(stream, this.tab, (m) => {
      if (m.t === 'state') this.lastChange = m.change;
      this.channel.postMessage(m);
    });
    stream.restart();
    // Held until this tab closes (the browser then releases it) or close() is called.
    return new Promise((resolve) => (this.resign = resolve));
  }

  private onMessage(m: ToHub | FromHub): void {
    if (this.stream) {
      if (m.t === 'hello') {
        // A new tab may follow a sign-in in this browser: a closed stream gets another chance.
        if (m.fresh || this.stream.state === 'closed') this.stream.restart({ fresh: m.fresh });
        else if (this.lastChange) this.channel.postMessage({ t: 'state', change: this.lastChange } satisfies FromHub);
      } else if (m.t === 'restart') this.stream.restart({ fresh: m.fresh });
      return;
    }
    if (m.t === 'event') this.tab.deliver(m.event);
    else if (m.t === 'state') this.tab.setState(m.change);
  }

  restart(fresh: boolean): void {
    if (this.stream) this.stream.restart({ fresh });
    else this.channel.postMessage({ t: 'restart', fresh } satisfies ToHub);
  }

  close(): void {
    this.closed = true;
    this.abort.abort();
    // Stop relaying first: the other tabs must not hear "closed"; one of them takes over.
    this.unpipe?.();
    this.stream?.close();
    this.stream = null;
    this.resign?.();
    this.channel.close();
  }
}
