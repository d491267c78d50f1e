import type {
  Audience,
  BroadcastJson,
  Channel,
  DeliveryMethod,
  NotificationAction,
  NotificationJson,
  Role,
  Severity,
} from '../../client/wire.js';
import { CHANNELS } from '../../client/registry.js';

/*
 * The wire types (what the API and the stream send) are defined once, in
 * client/wire.ts, and shared with the client; re-exported here for the
 * server's modules. This file keeps the server-only ones: rows and drafts.
 */
export type {
  Audience,
  BroadcastJson,
  Channel,
  DeliveryMethod,
  InboxPage,
  InboxStatus,
  NotificationAction,
  NotificationJson,
  ReadPayload,
  ReadyPayload,
  ResetPayload,
  ResetReason,
  Severity,
  StateChange,
  StatePayload,
  UnreadCounts,
  UnsnoozedPayload,
} from '../../client/wire.js';

export { CHANNELS, DELIVERY_METHODS, perKey } from '../../client/registry.js';

export const SEVERITIES = ['info', 'warning', 'critical'] as const satisfies readonly Severity[];
// Every severity of the wire union is listed: adding one there fails here until it is.
const everySeverityListed: [Exclude<Severity, (typeof SEVERITIES)[number]>] extends [never] ? true : never = true;
void everySeverityListed;

export function isChannel(value: string): value is Channel {
  return (CHANNELS as readonly string[]).includes(value);
}

/** A broadcast's texts per locale (canonical BCP 47 keys: `de`, `fr-CA`). */
export type Translations = Record<string, { title: string; body: string }>;

interface DraftContent {
  channel: Channel;
  type: string;
  severity: Severity;
  title: string;
  body: string;
  data: Record<string, unknown>;
  /** At most 3 buttons; absent or empty: none. */
  actions?: NotificationAction[];
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
  /** Methods beyond in-app (`deliver` of POST /admin/broadcasts); absent or empty: in-app only. */
  deliver?: DeliveryMethod[];
  /** Its texts in other languages, picked per viewer (`localized`); absent or empty: none. */
  translations?: Translations;
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
  /** A broadcast's methods beyond in-app; null on personal rows and in-app-only broadcasts. Never sent to clients. */
  deliver: DeliveryMethod[] | null;
  /** Null: none. */
  actions: NotificationAction[] | null;
  /** A broadcast's texts per locale; null on personal rows (written in their recipient's language). */
  translations: Translations | null;
  read_at?: Date | null;
  seen_at?: Date | null;
  archived_at?: Date | null;
  snoozed_until?: Date | null;
}

/** The columns a reader adds for one viewer (visibility.ts's stateSelectSql); never on the bus. */
export type PerUserColumn = 'read_at' | 'seen_at' | 'archived_at' | 'snoozed_until';

/** The columns every reader selects, in one place. */
export const NOTIFICATION_COLUMNS = `n.id, n.user_id, n.channel, n.type, n.severity, n.title, n.body, n.data,
  n.audience_kind, n.audience_role, n.audience_user_ids, n.created_at, n.expires_at, n.deliver, n.actions,
  n.translations`;

const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

/** What `localized` reads of a row; `translations` absent or null: none. */
export interface Localizable {
  title: string;
  body: string;
  translations?: Translations | null;
}

/**
 * The texts a viewer of `locale` sees: the row's translation for exactly that locale, else for
 * its language (`de-AT` → `de`), else the row's own title and body.
 */
export function localized(row: Localizable, locale?: string): { title: string; body: string } {
  const key = translationKey(row, locale);
  return key === null ? { title: row.title, body: row.body } : row.translations![key];
}

/** Which translation `localized` picks for `locale`; null: the row's own texts. */
export function translationKey(row: Pick<Localizable, 'translations'>, locale?: string): string | null {
  const t = row.translations;
  if (!t || !locale) return null;
  if (Object.hasOwn(t, locale)) return locale;
  const language = locale.split('-')[0];
  return Object.hasOwn(t, language) ? language : null;
}

/** A notification as the API, the stream and push show it to a viewer of `locale`. */
export function toJson(row: NotificationRow, locale?: string): NotificationJson {
  const { title, body } = localized(row, locale);
  return {
    id: String(row.id),
    channel: row.channel,
    type: row.type,
    severity: row.severity,
    title,
    body,
    data: row.data,
    createdAt: row.created_at.toISOString(),
    readAt: iso(row.read_at),
    seenAt: iso(row.seen_at),
    archivedAt: iso(row.archived_at),
    snoozedUntil: iso(row.snoozed_until),
    actions: row.actions ?? [],
  };
}

export function toBroadcastJson(row: NotificationRow): BroadcastJson {
  const audience: Audience =
    row.audience_kind === 'role'
      ? { kind: 'role', role: row.audience_role! }
      : row.audience_kind === 'users'
        ? { kind: 'users', userIds: (row.audience_user_ids ?? []).map(String) }
        : { kind: 'all' };
  return {
    ...toJson(row),
    audience,
    expiresAt: row.expires_at ? row.expires_at.toISOString() : null,
    translations: row.translations ?? {},
  };
}
