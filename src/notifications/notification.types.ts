import type { Role } from '../users/user.entity.js';

export const CHANNELS = ['order', 'payment', 'system'] as const;
export type Channel = (typeof CHANNELS)[number];
export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export function isChannel(value: string): value is Channel {
  return (CHANNELS as readonly string[]).includes(value);
}

/** A notification as the API and the stream show it (the contract's JSON). */
export interface NotificationJson {
  id: string;
  channel: Channel;
  type: string;
  severity: Severity;
  title: string;
  body: string;
  data: Record<string, unknown>;
  createdAt: string;
  readAt: string | null;
}

/**
 * Payloads of the stream's state events, as `data:` carries them. Shared with
 * the browser/Node client (client/), which imports these types from here.
 */
export interface ReadyPayload {
  /** The stream's position: resume from here and nothing is missed. */
  cursor: string;
}
export type ReadPayload = { ids: string[] } | { all: true; channel?: Channel };
export type ResetReason = 'history-truncated' | 'unknown-cursor';
export interface ResetPayload {
  reason: ResetReason;
}

/** GET /notifications/unread-count. */
export interface UnreadCounts {
  total: number;
  byChannel: Record<Channel, number>;
}

/** GET /notifications. */
export interface InboxPage {
  items: NotificationJson[];
  nextBefore: string | null;
}

/** Who a broadcast is for; decided when it is read, not fanned out into rows. */
export type Audience = { kind: 'all' } | { kind: 'role'; role: Role } | { kind: 'users'; userIds: string[] };

interface DraftContent {
  channel: Channel;
  type: string;
  severity: Severity;
  title: string;
  body: string;
  data: Record<string, unknown>;
}

/** A notification to one user, before it has an id. */
export interface PersonalDraft extends DraftContent {
  userId: string;
}

/** A broadcast, before it has an id. */
export interface BroadcastDraft extends DraftContent {
  audience: Audience;
  expiresAt: Date | null;
  createdBy: string | null;
}

/** A stored row, as the feed and replay read it. */
export interface NotificationRow {
  id: string;
  user_id: string | null;
  channel: Channel;
  type: string;
  severity: Severity;
  title: string;
  body: string;
  data: Record<string, unknown>;
  audience_kind: Audience['kind'] | null;
  audience_role: Role | null;
  audience_user_ids: string[] | null;
  created_at: Date;
  expires_at: Date | null;
  read_at?: Date | null;
}

/** The columns every reader selects, in one place. */
export const NOTIFICATION_COLUMNS = `n.id, n.user_id, n.channel, n.type, n.severity, n.title, n.body, n.data,
  n.audience_kind, n.audience_role, n.audience_user_ids, n.created_at, n.expires_at`;

export function toJson(row: NotificationRow): NotificationJson {
  return {
    id: String(row.id),
    channel: row.channel,
    type: row.type,
    severity: row.severity,
    title: row.title,
    body: row.body,
    data: row.data,
    createdAt: row.created_at.toISOString(),
    readAt: row.read_at ? row.read_at.toISOString() : null,
  };
}

/** Broadcast metadata as the admin API shows it. */
export interface BroadcastJson extends NotificationJson {
  audience: Audience;
  expiresAt: string | null;
}

export function toBroadcastJson(row: NotificationRow): BroadcastJson {
  const audience: Audience =
    row.audience_kind === 'role'
      ? { kind: 'role', role: row.audience_role! }
      : row.audience_kind === 'users'
        ? { kind: 'users', userIds: (row.audience_user_ids ?? []).map(String) }
        : { kind: 'all' };
  return { ...toJson(row), audience, expiresAt: row.expires_at ? row.expires_at.toISOString() : null };
}
