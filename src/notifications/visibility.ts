import type { Role } from '../users/user.entity.js';
import { NOTIFICATION_COLUMNS, type NotificationRow } from './notification.types.js';

/**
 * WHO MAY SEE WHAT, in one place. A viewer sees a notification when
 *  - it is addressed to them (user_id), or
 *  - it is a broadcast that was sent after they existed, has not expired, and
 *    whose audience includes them: everyone, their current role, or their id.
 * The SQL form (replay, inbox, counts, mark-read) and the in-memory form (live
 * fan-out) are written side by side here; test/isolation.e2e.test.ts ("the SQL and
 * in-memory forms of visibility agree on every row") checks that they agree on the
 * same rows, and test/stream-parsing.unit.test.ts checks canSee case by case.
 */
export interface Viewer {
  id: string;
  role: Role;
  createdAt: Date;
  /** Which of a broadcast's translations they see (`localized`); not a visibility rule. */
  locale?: string;
}

/** Positional parameters for raw SQL, so fragments can be composed safely. */
export class SqlParams {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** In-memory form, for the live fan-out. `audienceIds` is the row's user-id set, built once per row. */
export function canSee(viewer: Viewer, row: NotificationRow, now: number, audienceIds?: ReadonlySet<string>): boolean {
  if (row.user_id !== null) return String(row.user_id) === viewer.id;
  if (row.created_at.getTime() < viewer.createdAt.getTime()) return false;
  if (row.expires_at && row.expires_at.getTime() <= now) return false;
  switch (row.audience_kind) {
    case 'all':
      return true;
    case 'role':
      return row.audience_role === viewer.role;
    case 'users':
      return (audienceIds ?? new Set((row.audience_user_ids ?? []).map(String))).has(viewer.id);
    default:
      return false;
  }
}

/**
 * A viewer given as SQL expressions instead of values, e.g. the columns of an
 * outer query's row: the same question for many viewers in one statement.
 */
export interface ViewerSql {
  /** bigint */
  idSql: string;
  /** text */
  roleSql: string;
  /** timestamptz */
  createdAtSql: string;
}

export interface VisibleQuery {
  viewer: Viewer | ViewerSql;
  /** Extra conditions on `n`, already parameterised through `params`. */
  where?: string[];
  order: 'ASC' | 'DESC';
  /** A parameter placeholder or literal; omitted: no limit (counts). */
  limit?: string;
  /** Extra select expressions (e.g. read state). */
  select?: string[];
}

/**
 * SQL for the rows `viewer` may see: a UNION ALL of an index range scan over
 * their personal rows (notifications_user_idx) and one over broadcasts
 * (notifications_broadcast_idx), each ordered and limited, merged outside.
 */
export function visibleNotificationsSql(params: SqlParams, q: VisibleQuery): string {
  const v = q.viewer;
  const [me, role, since] =
    'idSql' in v
      ? [v.idSql, v.roleSql, v.createdAtSql]
      : [params.add(v.id), params.add(v.role), params.add(v.createdAt)];
  const extra = (q.where ?? []).map((w) => ` AND (${w})`).join('');
  const select = [NOTIFICATION_COLUMNS, ...(q.select ?? [])].join(', ');
  const tail = `ORDER BY n.id ${q.order}${q.limit ? ` LIMIT ${q.limit}` : ''}`;
  const personal = `SELECT ${select} FROM notifications n WHERE n.user_id = ${me}${extra} ${tail}`;
  const broadcasts = `SELECT ${select} FROM notifications n
     WHERE n.user_id IS NULL
       AND n.created_at >= ${since}
       AND (n.expires_at IS NULL OR n.expires_at > now())
       AND (n.audience_kind = 'all'
            OR (n.audience_kind = 'role' AND n.audience_role = ${role})
            OR (n.audience_kind = 'users' AND ${me}::bigint = ANY (n.audience_user_ids)))${extra} ${tail}`;
  return `SELECT * FROM ((${personal}) UNION ALL (${broadcasts})) v ORDER BY v.id ${q.order}${q.limit ? ` LIMIT ${q.limit}` : ''}`;
}

/**
 * Read state of `n` for the viewer whose id is `me`: its receipt if it has one (read_at NULL
 * there is an explicit "unread" that overrides the watermark), else a "mark all read"
 * watermark of its channel covering it.
 */
export function readAtSql(me: string): string {
  return `(SELECT CASE WHEN r.user_id IS NULL
                 THEN (SELECT m.read_at FROM notification_read_marks m
                        WHERE m.user_id = ${me} AND m.channel = n.channel AND m.up_to_id >= n.id)
                 ELSE r.read_at END
     FROM (SELECT 1) one
     LEFT JOIN notification_reads r ON r.user_id = ${me} AND r.notification_id = n.id) AS read_at`;
}

export function unreadSql(me: string): string {
  return `COALESCE(
    (SELECT r.read_at IS NULL FROM notification_reads r WHERE r.user_id = ${me} AND r.notification_id = n.id),
    n.id > COALESCE((SELECT m.up_to_id FROM notification_read_marks m WHERE m.user_id = ${me} AND m.channel = n.channel), 0))`;
}

/*
 * The archive and snooze tests below are scalar subqueries on purpose, not EXISTS: Postgres turns
 * an EXISTS into a join, and with most of a user's rows archived it then hashes all of them
 * (a sequential scan) instead of probing the newest few by primary key (docs/performance.md,
 * "Inbox states").
 */

/** Snoozed and not woken yet: out of the inbox, sent by no method (delivery checks it too). */
export function asleepSql(me: string): string {
  return `COALESCE((SELECT s.snoozed_until IS NOT NULL FROM notification_states s
                     WHERE s.user_id = ${me} AND s.notification_id = n.id), false)`;
}

export function archivedSql(me: string): string {
  return `COALESCE((SELECT s.archived_at IS NOT NULL FROM notification_states s
                     WHERE s.user_id = ${me} AND s.notification_id = n.id), false)`;
}

/** In the inbox: neither archived nor snoozed. */
export function inInboxSql(me: string): string {
  return `COALESCE((SELECT s.archived_at IS NULL AND s.snoozed_until IS NULL FROM notification_states s
                     WHERE s.user_id = ${me} AND s.notification_id = n.id), true)`;
}

/** The newest id the viewer has seen (0: none). */
export function seenUpToSql(me: string): string {
  return `COALESCE((SELECT max(sm.up_to_id) FROM notification_seen_marks sm WHERE sm.user_id = ${me}), 0)`;
}

/** Every per-viewer column of a notification as JSON shows it (`PerUserColumn`). */
export function stateSelectSql(me: string): string[] {
  return [
    readAtSql(me),
    `(SELECT sm.seen_at FROM notification_seen_marks sm
       WHERE sm.user_id = ${me} AND sm.up_to_id >= n.id ORDER BY sm.up_to_id LIMIT 1) AS seen_at`,
    `(SELECT s.archived_at FROM notification_states s WHERE s.user_id = ${me} AND s.notification_id = n.id) AS archived_at`,
    `(SELECT s.snoozed_until FROM notification_states s WHERE s.user_id = ${me} AND s.notification_id = n.id) AS snoozed_until`,
  ];
}
