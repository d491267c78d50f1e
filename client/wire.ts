/**
 * What crosses the wire between the service and its clients, defined once: the
 * server imports these types, the client re-exports them (./types.ts), so a
 * change breaks whichever side no longer agrees at compile time. Types only;
 * it imports nothing but the registry (./registry.ts). Server-only types stay
 * with the server.
 */
import type { Channel, DeliveryMethod } from './registry.js';

export type { Channel, DeliveryMethod } from './registry.js';

export type Severity = 'info' | 'warning' | 'critical';

export type Role = 'user' | 'admin';

/** A notification as the API and the stream show it. Ids are decimal strings. */
export interface NotificationJson {
  id: string;
  channel: Channel;
  type: string;
  severity: Severity;
  title: string;
  body: string;
  data: Record<string, unknown>;
  /** ISO 8601. */
  createdAt: string;
  /** ISO 8601, or null while unread. */
  readAt: string | null;
  /** ISO 8601, or null until the inbox showed it (POST /notifications/seen). */
  seenAt: string | null;
  /** ISO 8601, or null: not archived. */
  archivedAt: string | null;
  /** ISO 8601, or null: not snoozed. */
  snoozedUntil: string | null;
  /** At most 3 buttons; possibly empty. */
  actions: NotificationAction[];
}

/** A button on a notification (POST /notifications/:id/actions/:actionId). */
export interface NotificationAction {
  id: string;
  /** 1–40 characters. */
  label: string;
  /** http(s) only. */
  url?: string;
  style: 'primary' | 'secondary';
}

/** GET /notifications?status=: `inbox` (default) is neither archived nor snoozed. */
export type InboxStatus = 'inbox' | 'unread' | 'archived' | 'snoozed' | 'all';

/** A change of archive or snooze state (`event: state`), of some ids or of a bulk filter. */
export type StateChange = 'archive' | 'unarchive' | 'snooze' | 'unsnooze' | 'unread';

/** `event: state`: notifications changed state in another tab. */
export type StatePayload =
  { ids: string[]; change: StateChange } | { filter: { channel?: Channel; before?: string }; change: StateChange };

/** `event: unsnoozed`: snoozed notifications are back in the inbox, unread. */
export interface UnsnoozedPayload {
  ids: string[];
}

/** `event: ready`, the first event of every stream. */
export interface ReadyPayload {
  /** The stream's position: resume from here and nothing is missed. */
  cursor: string;
}

/** `event: read`: notifications were marked read (in another tab, say); `before`: only ids below it. */
export type ReadPayload = { ids: string[] } | { all: true; channel?: Channel; before?: string };

export type ResetReason = 'history-truncated' | 'unknown-cursor';

/** `event: reset`: the requested position could not be honoured; reload the inbox. */
export interface ResetPayload {
  reason: ResetReason;
}

/** GET /notifications/unread-count. */
export interface UnreadCounts {
  total: number;
  byChannel: Record<Channel, number>;
  /** In the inbox and not seen yet (the badge), read or not. */
  unseen: number;
}

/** GET /notifications. */
export interface InboxPage {
  /** Newest first. */
  items: NotificationJson[];
  /** Pass as `before` for the next page; null on the last one. */
  nextBefore: string | null;
}

/**
 * A daily window, in the user's IANA time zone, during which push and email
 * wait (except critical notifications). `start` after `end` spans midnight.
 */
export interface QuietHours {
  /** "HH:MM", 24-hour. */
  start: string;
  /** "HH:MM", 24-hour; differs from start. */
  end: string;
  /** IANA zone, e.g. "Europe/Berlin". */
  timeZone: string;
}

/**
 * GET and PUT /preferences. A muted channel (false) is not streamed and sends
 * nothing by push or email, except critical notifications; `delivery` says which
 * methods a notification of that channel may escalate to when it went unseen.
 */
export interface Preferences {
  channels: Record<Channel, boolean>;
  delivery: Record<Channel, Record<DeliveryMethod, boolean>>;
  quietHours: QuietHours | null;
  /** BCP 47 (`de`, `fr-CA`): the language notifications, emails and pushes come in. */
  locale: string;
}

/** PUT /preferences: any subset; `quietHours: null` removes them. */
export interface PreferencesUpdate {
  locale?: string;
  channels?: Partial<Record<Channel, boolean>>;
  delivery?: Partial<Record<Channel, Partial<Record<DeliveryMethod, boolean>>>>;
  quietHours?: QuietHours | null;
}

export type DeliveryStatus = 'scheduled' | 'sent' | 'failed' | 'cancelled';

/** GET /notifications/:id/deliveries (and, with the notification and user, GET /admin/deliveries). */
export interface DeliveryJson {
  method: DeliveryMethod;
  status: DeliveryStatus;
  attempts: number;
  /** ISO 8601, or null until sent. */
  sentAt: string | null;
  error: string | null;
}

/** GET /push/public-key. */
export interface PushPublicKey {
  /** The VAPID public key, base64url: the applicationServerKey of PushManager.subscribe. */
  publicKey: string;
}

/** POST /push/subscriptions: what PushSubscription.toJSON() gives (expirationTime is ignored). */
export interface PushSubscriptionInput {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

/** What the API shows of a user (never the password hash). */
export interface PublicUser {
  id: string;
  email: string;
  role: Role;
  displayName: string | null;
}

/** Who a broadcast is for, as the admin API shows it. */
export type Audience = { kind: 'all' } | { kind: 'role'; role: Role } | { kind: 'users'; userIds: string[] };

/** A broadcast as POST and GET /admin/broadcasts show it. */
export interface BroadcastJson extends NotificationJson {
  audience: Audience;
  /** ISO 8601, or null: never expires. */
  expiresAt: string | null;
  /** Its texts per BCP 47 locale (canonical keys); each user sees theirs, else title and body. */
  translations: Record<string, { title: string; body: string }>;
}

/** GET /admin/stats: for the instance that answers. */
export interface AdminStats {
  streams: number;
  users: number;
}
