import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/env.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { EscalationPort, escalates } from './escalation-port.js';
import {
  type Channel,
  type NotificationRow,
  type ReadPayload,
  type StatePayload,
  toJson,
  translationKey,
  type UnsnoozedPayload,
} from './notification.types.js';
import { canSee, type Viewer } from './visibility.js';

/** The message Nest's SseStream writes; `data` is pre-serialised JSON. */
export interface SseMessage {
  type?: string;
  id?: string;
  retry?: number;
  data?: string;
  comment?: string;
}

/**
 * A committed notification ready to be written: serialised once, shared by
 * every stream that receives it.
 */
export interface Frame {
  readonly seq: number;
  readonly channel: Channel;
  readonly critical: boolean;
  /**
   * Push or email may follow unless it is seen (see `escalates`): a write to a stream is
   * then worth a stream mark. Decided here, once per row, not per stream.
   */
  readonly escalates: boolean;
  readonly message: SseMessage;
  /** Bytes this frame takes on the wire, for the slow-client budget. */
  readonly size: number;
  readonly createdAt: number;
}

/** Events that carry state, not history: written with the stream's cursor as their id. */
export type StateEvent =
  | { type: 'read'; payload: ReadPayload }
  | { type: 'state'; payload: StatePayload }
  | { type: 'unsnoozed'; payload: UnsnoozedPayload };

/** `retryMs`: tell the client when to reconnect (`retry:`) before the end. */
export type ControlEvent = StateEvent | { type: 'end'; retryMs?: number } | { type: 'ping' };

/**
 * Reconnects per second, in all, that a stopping instance asks of its streams' clients: EventSource
 * reconnects after the stream's `retry:`, so a fixed one brings every stream back in the same
 * instant. An instance opens ~2,800 streams/s at ~0.4 ms CPU each (the bench's reconnect storm,
 * docs/performance.md), so the survivors of a restart absorb this pace in a fraction of their CPU.
 */
export const DRAIN_RECONNECTS_PER_SECOND = 1000;

/** One open stream, as the hub routes to it. */
export interface StreamHandle {
  readonly viewer: Viewer;
  readonly sessionId: string;
  /** The channels this stream asked for: the hub filters, so per event a stream costs one Subject.next. */
  readonly channels: ReadonlySet<Channel>;
  /**
   * Receives its notifications and control events, in the order they happened.
   * A plain function the stream swaps (buffer during the replay, then write),
   * not a Subject: per stream and event the hub's work is one call.
   */
  receive: (event: Frame | ControlEvent) => void;
}

const PING: ControlEvent = { type: 'ping' };
const ignore = () => undefined;

class UserRoute {
  readonly streams = new Set<StreamHandle>();
  muted: ReadonlySet<Channel> = new Set();
  /** StreamHub.prefsGeneration of the last change applied to `muted`, and to the viewer's locale. */
  mutedAt = 0;
  localeAt = 0;
  constructor(public viewer: Viewer) {}
}

/**
 * An open's read of the user's mutes and locale (the viewer's) becomes the route's, each unless
 * a change applied to the route since `readAt` is newer than the read: it stays.
 */
function adopt(route: UserRoute, viewer: Viewer, muted: readonly Channel[], readAt: number): void {
  route.viewer = route.localeAt > readAt ? { ...viewer, locale: route.viewer.locale } : viewer;
  if (route.mutedAt <= readAt) route.muted = new Set(muted);
}

/** Streams asking for the same channels share one (read-only) set. */
const channelSets = new Map<string, ReadonlySet<Channel>>();
function channelSet(channels: readonly Channel[]): ReadonlySet<Channel> {
  const key = [...channels].sort().join(',');
  let set = channelSets.get(key);
  if (!set) channelSets.set(key, (set = new Set(channels)));
  return set;
}

/** The row as a viewer of `locale` receives it. */
export function frameOf(row: NotificationRow, locale?: string): Frame {
  const data = JSON.stringify(toJson(row, locale));
  const id = String(row.id);
  return {
    seq: Number(row.id),
    channel: row.channel,
    critical: row.severity === 'critical',
    escalates: escalates(row),
    message: { type: row.channel, id, data },
    // "event: x\nid: n\ndata: …\n\n"; the JSON is ASCII-escaped only for control characters.
    size: Buffer.byteLength(data) + row.channel.length + id.length + 22,
    createdAt: row.created_at.getTime(),
  };
}

/**
 * The registry of this instance's open streams, routed by user. A notification
 * is serialised once; per stream the work is a map lookup and a write. A
 * broadcast is checked once per connected user, not per connection.
 */
@Injectable()
export class StreamHub implements OnModuleDestroy {
  private readonly routes = new Map<string, UserRoute>();
  private readonly bySession = new Map<string, Set<StreamHandle>>();
  private streamCount = 0;
  private prefsChanges = 0;
  /** One timer for every stream's heartbeat, running while any stream is open. */
  private heartbeat: NodeJS.Timeout | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: MetricsService,
    private readonly escalation: EscalationPort,
  ) {}

  onModuleDestroy(): void {
    this.endAll();
    this.stopHeartbeat();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  get size(): number {
    return this.streamCount;
  }

  get userCount(): number {
    return this.routes.size;
  }

  streamsOf(userId: string): number {
    return this.routes.get(userId)?.streams.size ?? 0;
  }

  /**
   * Bumped by every preference change this instance applies (setMuted, setLocale). An open that
   * read the user's preferences at generation g and finds it unchanged at its registration knows
   * no change reached the hub in between (as SessionRevocations' generation for revocations).
   */
  get prefsGeneration(): number {
    return this.prefsChanges;
  }

  /** `muted` and the viewer's locale, read at prefsGeneration `readAt`: see adopt. */
  register(
    viewer: Viewer,
    sessionId: string,
    channels: readonly Channel[],
    muted: readonly Channel[],
    readAt: number,
  ): StreamHandle {
    const handle: StreamHandle = { viewer, sessionId, channels: channelSet(channels), receive: ignore };
    let route = this.routes.get(viewer.id);
    if (!route) {
      route = new UserRoute(viewer);
      this.routes.set(viewer.id, route);
    }
    adopt(route, viewer, muted, readAt);
    route.streams.add(handle);
    let sessionSet = this.bySession.get(sessionId);
    if (!sessionSet) this.bySession.set(sessionId, (sessionSet = new Set()));
    sessionSet.add(handle);
    this.streamCount++;
    this.metrics.openStreams.set(this.streamCount);
    if (!this.heartbeat) {
      this.heartbeat = setInterval(() => {
        for (const r of this.routes.values()) for (const stream of r.streams) stream.receive(PING);
      }, this.config.stream.heartbeatMs);
    }
    return handle;
  }

  unregister(handle: StreamHandle): void {
    const route = this.routes.get(handle.viewer.id);
    if (!route?.streams.delete(handle)) return;
    if (route.streams.size === 0) this.routes.delete(handle.viewer.id);
    const sessionSet = this.bySession.get(handle.sessionId);
    sessionSet?.delete(handle);
    if (sessionSet?.size === 0) this.bySession.delete(handle.sessionId);
    this.streamCount--;
    this.metrics.openStreams.set(this.streamCount);
    if (this.streamCount === 0) this.stopHeartbeat();
  }

  /** Preferences read again after a registration, at prefsGeneration `readAt`: see adopt. */
  refresh(viewer: Viewer, muted: readonly Channel[], readAt: number): void {
    const route = this.routes.get(viewer.id);
    if (route) adopt(route, viewer, muted, readAt);
  }

  setMuted(userId: string, muted: Iterable<Channel>): void {
    this.prefsChanges++;
    const route = this.routes.get(userId);
    if (route) {
      route.muted = new Set(muted);
      route.mutedAt = this.prefsChanges;
    }
  }

  /** The user changed language: their open streams show the next broadcasts in it. */
  setLocale(userId: string, locale: string): void {
    this.prefsChanges++;
    const route = this.routes.get(userId);
    if (route) {
      route.viewer = { ...route.viewer, locale };
      route.localeAt = this.prefsChanges;
    }
  }

  /** Fan a committed row out to the streams of this instance that may see it. */
  dispatch(row: NotificationRow): void {
    // Serialised at most once, and only if a stream of this instance receives it: behind
    // several instances most personal notifications have no stream here.
    let frame: Frame | undefined;
    let delivered = 0;
    if (row.user_id !== null) {
      const route = this.routes.get(String(row.user_id));
      if (route) delivered = this.deliver(route, (frame = frameOf(row)));
    } else if (this.routes.size > 0) {
      const now = Date.now();
      const audience = row.audience_kind === 'users' ? new Set((row.audience_user_ids ?? []).map(String)) : undefined;
      // With translations: serialised once per translation its viewers here see, not per viewer.
      const byText = row.translations ? new Map<string, Frame>() : undefined;
      for (const route of this.routes.values()) {
        if (!canSee(route.viewer, row, now, audience)) continue;
        let f: Frame | undefined;
        if (byText) {
          const key = translationKey(row, route.viewer.locale) ?? '';
          f = byText.get(key);
          if (!f) byText.set(key, (f = frameOf(row, route.viewer.locale)));
        } else f = frame ??= frameOf(row);
        frame ??= f;
        delivered += this.deliver(route, f);
      }
    }
    if (frame && delivered > 0) {
      this.metrics.delivered.inc(delivered);
      this.metrics.deliveryLatency.observe(Math.max(0, Date.now() - frame.createdAt) / 1000);
    }
  }

  private deliver(route: UserRoute, frame: Frame): number {
    if (!frame.critical && route.muted.has(frame.channel)) return 0;
    let n = 0;
    for (const stream of route.streams) {
      if (stream.channels.has(frame.channel)) {
        stream.receive(frame);
        n++;
      }
    }
    // Seen live: it will not go out by push or email (src/delivery/stream-marks.ts).
    if (n > 0 && frame.escalates) this.escalation.streamed(frame.message.id!, route.viewer.id);
    return n;
  }

  /** Read state changed (in any tab, on any instance): tell the user's streams. */
  readChanged(userId: string, payload: ReadPayload): void {
    this.control(userId, { type: 'read', payload });
  }

  /** Inbox state changed (archive, snooze, a wake-up): tell the user's streams. */
  control(userId: string, event: StateEvent): void {
    const route = this.routes.get(userId);
    if (!route) return;
    for (const stream of route.streams) stream.receive(event);
  }

  /** Every open stream's session, user and role (to re-check them after a bus gap). */
  openSessions(): Array<{ sessionId: string; userId: string; role: Viewer['role'] }> {
    const out: Array<{ sessionId: string; userId: string; role: Viewer['role'] }> = [];
    for (const [sessionId, streams] of this.bySession) {
      for (const stream of streams) out.push({ sessionId, userId: stream.viewer.id, role: stream.viewer.role });
    }
    return out;
  }

  endSession(sessionId: string): void {
    for (const stream of [...(this.bySession.get(sessionId) ?? [])]) stream.receive({ type: 'end' });
  }

  endUser(userId: string): void {
    for (const stream of [...(this.routes.get(userId)?.streams ?? [])]) stream.receive({ type: 'end' });
  }

  endAll(): void {
    for (const route of [...this.routes.values()]) {
      for (const stream of [...route.streams]) stream.receive({ type: 'end' });
    }
  }

  /**
   * Ends every stream for a shutdown: each client is told to reconnect after RETRY_MS plus a random
   * part of a window that grows with the streams (at least a second), so their reconnects reach the
   * other instances spread at DRAIN_RECONNECTS_PER_SECOND rather than all at once.
   */
  endAllSpread(): void {
    const spreadMs = Math.max(1000, (this.streamCount * 1000) / DRAIN_RECONNECTS_PER_SECOND);
    for (const route of [...this.routes.values()]) {
      for (const stream of [...route.streams]) {
        stream.receive({ type: 'end', retryMs: this.config.stream.retryMs + Math.floor(Math.random() * spreadMs) });
      }
    }
  }
}
