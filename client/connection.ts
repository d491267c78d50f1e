import { backoffDelay } from './backoff.js';
import { Emitter } from './emitter.js';
import type {
  Channel,
  ChannelNotification,
  ConnectionState,
  NotificationSource,
  StateChange,
  StreamEvents,
  WireEvent,
} from './types.js';
import { CHANNELS } from './types.js';

/** One event as the wire carried it, before its JSON is read. */
export interface RawEvent {
  event: string;
  id: string | undefined;
  data: string;
}

/** How one connection ended. */
export type TransportEnd =
  /** The server ended the stream (a restart, a sign-out, a slow-client drop). */
  | { kind: 'ended' }
  /** No answer, or the connection broke. */
  | { kind: 'network'; error?: unknown }
  /** 401: the session is gone. Not retried. */
  | { kind: 'unauthorized' }
  /** Another status (429, 503, …): retried with backoff. */
  | { kind: 'http'; status: number };

export interface TransportHandlers {
  event(e: RawEvent): void;
  /** The server's `retry:` field, when the transport can see it. */
  retry(ms: number): void;
  /** Called once per connection, when it is over. */
  end(how: TransportEnd): void;
}

export interface ConnectRequest {
  /** The stream's URL (with `channels` when narrowed). */
  url: string;
  /** The service's base URL, for transports that probe another route. */
  baseUrl: string;
  /** Resume after this id; null: start at the newest. */
  lastEventId: string | null;
}

/** One way of holding a connection: EventSource in browsers, fetch + eventsource-parser elsewhere. */
export interface Transport {
  connect(request: ConnectRequest, handlers: TransportHandlers): { close(): void };
}

export interface StreamOptions {
  transport: Transport;
  /** The service's origin and path prefix; '' (the default) is the page's own origin. */
  baseUrl?: string;
  /** Narrow the stream to these channels (default: all). */
  channels?: readonly Channel[];
  /** Resume from here (e.g. a position saved earlier); default: start at the newest. */
  lastEventId?: string | null;
  /** Reconnect delay before the server's `retry:` is known (or when the transport cannot see it). Default 3000, the server's default. */
  retryMs?: number;
  /** Ceiling of the exponential backoff. Default 30000. */
  maxRetryMs?: number;
  /** Randomness for the jitter (tests make it deterministic). */
  random?: () => number;
  /** Connect at once (default true). */
  start?: boolean;
}

export function streamUrl(baseUrl: string, channels?: readonly Channel[]): string {
  const url = `${baseUrl.replace(/\/+$/, '')}/notifications/stream`;
  if (!channels || CHANNELS.every((c) => channels.includes(c))) return url;
  return `${url}?channels=${channels.map(encodeURIComponent).join(',')}`;
}

/** The stream's own events besides `ready`: state, not history; their id is the cursor. */
export const STATE_EVENTS: ReadonlySet<string> = new Set(['read', 'reset', 'state', 'unsnoozed']);
const STREAM_EVENTS: ReadonlySet<string> = new Set(['ready', ...STATE_EVENTS]);

function isChannel(name: string): name is Channel {
  return (CHANNELS as readonly string[]).includes(name);
}

/**
 * One connection to the stream, kept alive: it resumes from the last id it
 * saw (so a reconnect misses nothing and repeats nothing), waits longer after
 * each failed attempt, and stops for good on 401. The transport only moves
 * bytes; everything about ids, state and retries is here, once.
 */
export class NotificationStream implements NotificationSource {
  private readonly emitter = new Emitter<StreamEvents>();
  private readonly wireListeners = new Set<(event: WireEvent) => void>();
  private readonly transport: Transport;
  private readonly baseUrl: string;
  private readonly channels?: readonly Channel[];
  private readonly maxRetryMs: number;
  private readonly random: () => number;
  private retryMs: number;
  private current: { close(): void } | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Failed attempts since the last `ready`. */
  private failures = 0;
  /** Bumped per connection so that callbacks of an abandoned one are ignored. */
  private generation = 0;
  private _state: ConnectionState = 'connecting';
  private _lastEventId: string | null;
  private _attempts = 0;

  constructor(options: StreamOptions) {
    this.transport = options.transport;
    this.baseUrl = options.baseUrl ?? '';
    this.channels = options.channels;
    this.retryMs = options.retryMs ?? 3000;
    this.maxRetryMs = options.maxRetryMs ?? 30_000;
    this.random = options.random ?? Math.random;
    this._lastEventId = options.lastEventId ?? null;
    if (options.start !== false) this.connect();
  }

  get state(): ConnectionState {
    return this._state;
  }

  /** The position a reconnect resumes from. */
  get lastEventId(): string | null {
    return this._lastEventId;
  }

  /** Connections attempted so far (for diagnostics and tests). */
  get attempts(): number {
    return this._attempts;
  }

  on<K extends keyof StreamEvents>(type: K, listener: (payload: StreamEvents[K]) => void): () => void {
    return this.emitter.on(type, listener);
  }

  /** Every event as it came, in order, with its id: what a relay to other tabs forwards. */
  onWire(listener: (event: WireEvent) => void): () => void {
    this.wireListeners.add(listener);
    return () => this.wireListeners.delete(listener);
  }

  restart(options: { fresh?: boolean } = {}): void {
    this.stopCurrent();
    if (options.fresh) this._lastEventId = null;
    this.failures = 0;
    this.setState({ state: 'connecting' });
    this.connect();
  }

  close(): void {
    this.stopCurrent();
    this.setState({ state: 'closed', reason: 'stopped' });
  }

  private stopCurrent(): void {
    this.generation++;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.current?.close();
    this.current = null;
  }

  private connect(): void {
    this.timer = null;
    const generation = ++this.generation;
    const live = () => generation === this.generation;
    this._attempts++;
    this.current = this.transport.connect(
      { url: streamUrl(this.baseUrl, this.channels), baseUrl: this.baseUrl, lastEventId: this._lastEventId },
      {
        event: (e) => live() && this.onEvent(e),
        retry: (ms) => {
          if (live() && Number.isFinite(ms) && ms >= 0) this.retryMs = ms;
        },
        end: (how) => live() && this.onEnd(how),
      },
    );
  }

  private onEvent(raw: RawEvent): void {
    // Every event of this stream carries an id: a notification its own, the
    // state events (ready, read, reset) the stream's cursor. Following it
    // blindly is what EventSource does too, and what keeps resume exact.
    if (raw.id !== undefined && raw.id !== '') this._lastEventId = raw.id;
    let data: unknown;
    try {
      data = JSON.parse(raw.data);
    } catch {
      return; // not ours to interpret; the position above still counts
    }
    if (!STREAM_EVENTS.has(raw.event) && !isChannel(raw.event)) return;
    // Unknown event names are ignored above: a newer server may add some.
    const event = { event: raw.event, id: raw.id ?? this._lastEventId ?? '', data } as WireEvent;
    for (const listener of [...this.wireListeners]) listener(event);
    if (event.event === 'ready') this.failures = 0;
    emitWire(this.emitter, event);
    if (event.event === 'ready') this.setState({ state: 'live' });
  }

  private onEnd(how: TransportEnd): void {
    this.current = null;
    this.generation++;
    if (how.kind === 'unauthorized') {
      this.setState({ state: 'closed', reason: 'unauthorized' });
      return;
    }
    const delay = backoffDelay(this.failures, this.retryMs, this.maxRetryMs, this.random);
    this.failures++;
    const cause = how.kind === 'http' ? `http ${how.status}` : how.kind;
    this.setState({ state: 'reconnecting', retryInMs: delay, cause });
    this.timer = setTimeout(() => this.connect(), delay);
  }

  private setState(change: Omit<StateChange, 'lastEventId'>): void {
    this._state = change.state;
    this.emitter.emit('state', { ...change, lastEventId: this._lastEventId });
  }
}

/** Emits one wire event as the typed events listeners subscribe to. */
export function emitWire(emitter: Emitter<StreamEvents>, event: WireEvent): void {
  switch (event.event) {
    case 'ready':
      return emitter.emit('ready', event.data);
    case 'read':
      return emitter.emit('read', event.data);
    case 'reset':
      return emitter.emit('reset', event.data);
    case 'state':
      return emitter.emit('inboxState', event.data);
    case 'unsnoozed':
      return emitter.emit('unsnoozed', event.data);
    default:
      emitter.emit('notification', event.data);
      // The event name is the channel, so the payload is that channel's notification.
      emitter.emit(event.event, event.data as ChannelNotification<Channel>);
  }
}
