/**
 * The client's vocabulary. The wire types are defined once in ./wire.ts,
 * which the server imports too (type-only, erased at compile time): a change
 * on either side that the other does not follow breaks the build, not users.
 */
import type {
  Channel,
  NotificationJson,
  ReadPayload,
  ReadyPayload,
  ResetPayload,
  StatePayload,
  UnsnoozedPayload,
} from './wire.js';

export type {
  AdminStats,
  Audience,
  BroadcastJson,
  Channel,
  DeliveryJson,
  DeliveryMethod,
  DeliveryStatus,
  InboxPage,
  InboxStatus,
  NotificationAction,
  NotificationJson,
  Preferences,
  PreferencesUpdate,
  PublicUser,
  PushPublicKey,
  PushSubscriptionInput,
  QuietHours,
  ReadPayload,
  ReadyPayload,
  ResetPayload,
  ResetReason,
  Role,
  Severity,
  StateChange as InboxStateChange,
  StatePayload,
  UnreadCounts,
  UnsnoozedPayload,
} from './wire.js';

export {
  CHANNEL_INFO,
  CHANNELS,
  DELIVERY_METHOD_INFO,
  DELIVERY_METHODS,
  perKey,
  type ChannelInfo,
  type DeliveryMethodInfo,
} from './registry.js';

export { LOCALE_INFO, LOCALES, type SupportedLocale } from './locales.js';

/** A notification of one channel: what a channel listener receives. */
export type ChannelNotification<C extends Channel> = NotificationJson & { channel: C };

/**
 * - `connecting`: the first connection is being made.
 * - `live`: the stream said `ready`; events flow.
 * - `reconnecting`: the connection dropped; the next attempt is scheduled (see `retryInMs`).
 * - `closed`: no more attempts: closed by the caller, or the server said 401 (signed out).
 */
export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'closed';

export interface StateChange {
  state: ConnectionState;
  /** Why it is closed: `unauthorized` (401: sign in again) or `stopped` (close() was called). */
  reason?: 'unauthorized' | 'stopped';
  /** When reconnecting: the delay before the next attempt. */
  retryInMs?: number;
  /** When reconnecting: what ended the last connection ('ended', 'network', or 'http 503' and the like). */
  cause?: string;
  /** The position a reconnect resumes from (the last `id:` seen). */
  lastEventId: string | null;
}

/** Every event a stream source emits, by name, with its typed payload: one per channel, and these. */
export type StreamEvents = { [C in Channel]: ChannelNotification<C> } & {
  /** Any notification, whatever its channel. */
  notification: NotificationJson;
  ready: ReadyPayload;
  read: ReadPayload;
  reset: ResetPayload;
  state: StateChange;
  /** The wire's `event: state` (archive, snooze, unread… in another tab); `state` is the connection's here. */
  inboxState: StatePayload;
  /** Snoozed notifications are back in the inbox, unread. */
  unsnoozed: UnsnoozedPayload;
};

/** What the stream sends, as it appears on the wire (events the client relays between tabs). */
export type WireEvent =
  | { event: Channel; id: string; data: NotificationJson }
  | { event: 'ready'; id: string; data: ReadyPayload }
  | { event: 'read'; id: string; data: ReadPayload }
  | { event: 'reset'; id: string; data: ResetPayload }
  | { event: 'state'; id: string; data: StatePayload }
  | { event: 'unsnoozed'; id: string; data: UnsnoozedPayload };

/**
 * The one API every transport and every sharing mode offers: a direct
 * connection, a tab's view of a SharedWorker's connection, or of a leader
 * tab's connection.
 */
export interface NotificationSource {
  readonly state: ConnectionState;
  readonly lastEventId: string | null;
  on<K extends keyof StreamEvents>(type: K, listener: (payload: StreamEvents[K]) => void): () => void;
  /**
   * Connect again now (after signing in, say). `fresh`: forget the position,
   * for a different user's stream.
   */
  restart(options?: { fresh?: boolean }): void;
  close(): void;
}
