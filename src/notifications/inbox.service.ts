import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { SessionUser } from '../auth/session-user.js';
import { invalid, notFound } from '../common/domain-error.js';
import { NotificationActivity } from './activity.js';
import { NotificationBus } from './bus/notification-bus.js';
import {
  CHANNELS,
  type Channel,
  type InboxStatus,
  type NotificationJson,
  type NotificationRow,
  perKey,
  type StatePayload,
  toJson,
} from './notification.types.js';
import {
  archivedSql,
  asleepSql,
  inInboxSql,
  seenUpToSql,
  SqlParams,
  stateSelectSql,
  unreadSql,
  visibleNotificationsSql,
} from './visibility.js';

export interface InboxQuery {
  limit: number;
  before?: string;
  channel?: Channel;
  unread?: boolean;
  status?: InboxStatus;
}

export interface UnreadCount {
  total: number;
  byChannel: Record<Channel, number>;
  unseen: number;
}

export type BulkAction = 'read' | 'unread' | 'archive' | 'unarchive';

/** Exactly one of ids and filter (the DTO checks it). */
export interface BulkRequest {
  action: BulkAction;
  ids?: string[];
  filter?: { channel?: Channel; before?: string };
}

/** Snooze bounds: 1 minute to 30 days ahead. */
export const SNOOZE_MIN_MS = 60_000;
export const SNOOZE_MAX_MS = 30 * 24 * 3600_000;

/** Ids per state message: a NOTIFY payload stays under 8,000 bytes. */
const IDS_PER_MESSAGE = 300;

const viewerOf = (u: SessionUser) => ({ id: u.id, role: u.role, createdAt: u.createdAt });

/** `n` is in the list of this status, for the viewer `me`. */
function statusSql(me: string, status: InboxStatus): string | null {
  switch (status) {
    case 'inbox':
      return inInboxSql(me);
    case 'unread':
      return `${inInboxSql(me)} AND ${unreadSql(me)}`;
    case 'archived':
      return archivedSql(me);
    case 'snoozed':
      return asleepSql(me);
    case 'all':
      return null;
  }
}

@Injectable()
export class InboxService {
  constructor(
    private readonly db: DataSource,
    private readonly bus: NotificationBus,
    private readonly activity: NotificationActivity,
  ) {}

  /** Newest first, keyset-paginated by id. */
  async list(user: SessionUser, q: InboxQuery): Promise<{ items: NotificationJson[]; nextBefore: string | null }> {
    const params = new SqlParams();
    const me = params.add(user.id);
    const where: string[] = [];
    if (q.before !== undefined) where.push(`n.id < ${params.add(q.before)}`);
    if (q.channel) where.push(`n.channel = ${params.add(q.channel)}`);
    const status = statusSql(me, q.status ?? (q.unread ? 'unread' : 'inbox'));
    if (status) where.push(status);
    if (q.unread && q.status) where.push(unreadSql(me));
    const sql = visibleNotificationsSql(params, {
      viewer: viewerOf(user),
      where,
      order: 'DESC',
      limit: params.add(q.limit + 1),
      select: stateSelectSql(me),
    });
    // The locale read alongside (not in the session: a change in preferences shows at once).
    const [rows, locale] = await Promise.all([
      this.db.query(sql, params.values) as Promise<NotificationRow[]>,
      this.localeOf(user.id),
    ]);
    const page = rows.slice(0, q.limit);
    return {
      items: page.map((row) => toJson(row, locale)),
      nextBefore: rows.length > q.limit ? String(page[page.length - 1].id) : null,
    };
  }

  /** The viewer's locale (users.locale): which of a broadcast's translations they see. */
  async localeOf(userId: string): Promise<string> {
    const [u]: Array<{ locale: string }> = await this.db.query(`SELECT locale FROM users WHERE id = $1`, [userId]);
    return u?.locale ?? 'en';
  }

  /** Unread per channel and unseen, both of the inbox (archived and snoozed ones do not count). */
  async unreadCount(user: SessionUser): Promise<UnreadCount> {
    const params = new SqlParams();
    const me = params.add(user.id);
    // Uncorrelated: computed once per statement (an InitPlan).
    const unseen = `n.id > ${seenUpToSql(me)}`;
    const sql = visibleNotificationsSql(params, {
      viewer: viewerOf(user),
      where: [inInboxSql(me), `(${unreadSql(me)}) OR ${unseen}`],
      order: 'ASC',
      select: [`(${unreadSql(me)}) AS unread`, `${unseen} AS unseen`],
    });
    const rows: Array<{ channel: Channel; unread: string; unseen: string }> = await this.db.query(
      `SELECT channel, count(*) FILTER (WHERE unread)::text AS unread, count(*) FILTER (WHERE unseen)::text AS unseen
         FROM (${sql}) u GROUP BY channel`,
      params.values,
    );
    const byChannel = perKey(CHANNELS, () => 0);
    for (const r of rows) byChannel[r.channel] = Number(r.unread);
    return {
      total: rows.reduce((sum, r) => sum + Number(r.unread), 0),
      byChannel,
      unseen: rows.reduce((sum, r) => sum + Number(r.unseen), 0),
    };
  }

  /**
   * A statement over the one notification `id` if the user may see it (CTE `v`); 404 otherwise.
   * `then` writes from `v`; the statement answers v's id.
   */
  private async onVisible(
    user: SessionUser,
    id: string,
    then: (me: string, params: SqlParams) => string,
    also?: (params: SqlParams) => string,
  ) {
    const params = new SqlParams();
    const me = params.add(user.id);
    const where = [`n.id = ${params.add(id)}`];
    if (also) where.push(also(params));
    const visible = visibleNotificationsSql(params, { viewer: viewerOf(user), where, order: 'ASC', limit: '1' });
    const rows: unknown[] = await this.db.query(
      `WITH v AS (${visible}), w AS (${then(me, params)}) SELECT id FROM v`,
      params.values,
    );
    if (rows.length === 0) throw notFound('Notification not found');
  }

  /**
   * Records the press and marks the notification read, in one statement; 404 unless the user
   * may see it and it has this action. Then the user's tabs and the activity port hear of it.
   */
  async act(user: SessionUser, id: string, actionId: string): Promise<void> {
    let action = '';
    await this.onVisible(
      user,
      id,
      (me) => `INSERT INTO notification_action_presses AS p (user_id, notification_id, action_id)
               SELECT ${me}, v.id, ${action} FROM v
               ON CONFLICT (user_id, notification_id, action_id) DO UPDATE SET pressed_at = now()),
             r AS (INSERT INTO notification_reads AS r (user_id, notification_id, read_at)
               SELECT ${me}, v.id, now() FROM v
               ON CONFLICT (user_id, notification_id) DO UPDATE SET read_at = now() WHERE r.read_at IS NULL`,
      (params) => {
        action = params.add(actionId);
        return `n.actions @> jsonb_build_array(jsonb_build_object('id', ${action}::text))`;
      },
    );
    await this.bus.send({ t: 'read', userId: user.id, ids: [id] });
    this.activity.emit({ type: 'notification.action', userId: user.id, notificationId: id, actionId });
  }

  /** 404 unless the user may see it; idempotent. */
  async markRead(user: SessionUser, id: string): Promise<void> {
    await this.onVisible(
      user,
      id,
      (me) => `INSERT INTO notification_reads AS r (user_id, notification_id, read_at)
               SELECT ${me}, v.id, now() FROM v
               ON CONFLICT (user_id, notification_id) DO UPDATE SET read_at = now() WHERE r.read_at IS NULL`,
    );
    await this.bus.send({ t: 'read', userId: user.id, ids: [id] });
    this.activity.emit({ type: 'notification.read', userId: user.id, notificationIds: [id] });
  }

  /**
   * Everything visible now (in one channel or all) becomes read: one statement
   * moving the per-channel watermark to the newest id, however many
   * notifications (personal or broadcast) that covers.
   */
  async markAllRead(user: SessionUser, channel?: Channel): Promise<void> {
    await this.readWatermark(user, { channel });
    await this.bus.send({ t: 'read', userId: user.id, all: true, ...(channel ? { channel } : {}) });
    this.activity.emit({ type: 'notification.read', userId: user.id, all: true, ...(channel ? { channel } : {}) });
  }

  /**
   * Ids below `before` (all: the newest id) become read: the channels' watermarks move up,
   * and explicit "unread" receipts under them go. Answers how many visible notifications were unread.
   */
  private async readWatermark(user: SessionUser, f: { channel?: Channel; before?: string }): Promise<number> {
    const params = new SqlParams();
    const me = params.add(user.id);
    const channels = params.add(f.channel ? [f.channel] : CHANNELS);
    const upTo =
      f.before !== undefined
        ? `LEAST(${params.add(f.before)}::bigint - 1, (SELECT COALESCE(max(id), 0) FROM notifications))`
        : `(SELECT COALESCE(max(id), 0) FROM notifications)`;
    const where = [unreadSql(me), `n.channel = ANY (${channels}::text[])`];
    if (f.before !== undefined) where.push(`n.id < ${params.add(f.before)}`);
    const visible = visibleNotificationsSql(params, { viewer: viewerOf(user), where, order: 'ASC' });
    const [row]: Array<{ count: string }> = await this.db.query(
      `WITH v AS (${visible}),
            marks AS (
              INSERT INTO notification_read_marks AS m (user_id, channel, up_to_id, read_at)
              SELECT ${me}, c, ${upTo}, now() FROM unnest(${channels}::text[]) AS c
              ON CONFLICT (user_id, channel) DO UPDATE
                SET up_to_id = GREATEST(m.up_to_id, EXCLUDED.up_to_id), read_at = EXCLUDED.read_at),
            unmarked AS (
              DELETE FROM notification_reads r USING notifications n
               WHERE r.user_id = ${me} AND r.read_at IS NULL AND n.id = r.notification_id
                 AND n.channel = ANY (${channels}::text[]) AND n.id <= ${upTo})
       SELECT count(*)::text AS count FROM v`,
      params.values,
    );
    return Number(row.count);
  }

  /** Every notification of the user with id ≤ upTo (at most the newest id) is seen. */
  async markSeen(user: SessionUser, upTo: string): Promise<void> {
    await this.db.query(
      `INSERT INTO notification_seen_marks (user_id, up_to_id)
       SELECT $1, LEAST($2::bigint, (SELECT COALESCE(max(id), 0) FROM notifications))
        WHERE LEAST($2::bigint, (SELECT COALESCE(max(id), 0) FROM notifications))
              > COALESCE((SELECT max(up_to_id) FROM notification_seen_marks WHERE user_id = $1), 0)
       ON CONFLICT DO NOTHING`,
      [user.id, upTo],
    );
  }

  async archive(user: SessionUser, id: string, archived: boolean): Promise<void> {
    await this.onVisible(user, id, (me) =>
      archived
        ? `INSERT INTO notification_states AS s (user_id, notification_id, archived_at)
           SELECT ${me}, v.id, now() FROM v
           ON CONFLICT (user_id, notification_id) DO UPDATE SET archived_at = now() WHERE s.archived_at IS NULL`
        : `UPDATE notification_states s SET archived_at = NULL FROM v
            WHERE s.user_id = ${me} AND s.notification_id = v.id AND s.archived_at IS NOT NULL`,
    );
    await this.sendState(user.id, { ids: [id], change: archived ? 'archive' : 'unarchive' });
  }

  /** Out of the inbox until `until` (the SnoozeWaker brings it back); 400 outside 1 minute to 30 days ahead. */
  async snooze(user: SessionUser, id: string, until: Date): Promise<void> {
    const ahead = until.getTime() - Date.now();
    if (!(ahead >= SNOOZE_MIN_MS && ahead <= SNOOZE_MAX_MS)) {
      throw invalid('until must be from 1 minute to 30 days ahead');
    }
    await this.onVisible(
      user,
      id,
      (me, params) => `INSERT INTO notification_states AS s (user_id, notification_id, snoozed_until)
                       SELECT ${me}, v.id, ${params.add(until)}::timestamptz FROM v
                       ON CONFLICT (user_id, notification_id) DO UPDATE SET snoozed_until = EXCLUDED.snoozed_until`,
    );
    await this.sendState(user.id, { ids: [id], change: 'snooze' });
  }

  /** Back at once (as it was: read state untouched); idempotent. */
  async unsnooze(user: SessionUser, id: string): Promise<void> {
    await this.onVisible(
      user,
      id,
      (me) => `UPDATE notification_states s SET snoozed_until = NULL FROM v
                WHERE s.user_id = ${me} AND s.notification_id = v.id AND s.snoozed_until IS NOT NULL`,
    );
    await this.sendState(user.id, { ids: [id], change: 'unsnooze' });
  }

  /**
   * One statement per request, whatever the number of notifications: over the visible rows
   * the ids or the filter select. Answers how many changed. A filtered read moves the
   * watermarks (no receipt per row).
   */
  async bulk(user: SessionUser, req: BulkRequest): Promise<{ count: number }> {
    const { action, ids, filter } = req;
    let count: number;
    if (action === 'read' && filter) {
      count = await this.readWatermark(user, filter);
    } else {
      const params = new SqlParams();
      const me = params.add(user.id);
      const where: string[] = [];
      if (ids) where.push(`n.id = ANY (${params.add(ids)}::bigint[])`);
      if (filter?.channel) where.push(`n.channel = ${params.add(filter.channel)}`);
      if (filter?.before !== undefined) where.push(`n.id < ${params.add(filter.before)}`);
      where.push(
        {
          read: unreadSql(me),
          unread: `NOT (${unreadSql(me)})`,
          archive: `NOT (${archivedSql(me)})`,
          unarchive: archivedSql(me),
        }[action],
      );
      const visible = visibleNotificationsSql(params, { viewer: viewerOf(user), where, order: 'ASC' });
      const write = {
        read: `INSERT INTO notification_reads AS r (user_id, notification_id, read_at) SELECT ${me}, v.id, now() FROM v
               ON CONFLICT (user_id, notification_id) DO UPDATE SET read_at = now()`,
        unread: `INSERT INTO notification_reads AS r (user_id, notification_id, read_at) SELECT ${me}, v.id, NULL FROM v
                 ON CONFLICT (user_id, notification_id) DO UPDATE SET read_at = NULL`,
        archive: `INSERT INTO notification_states AS s (user_id, notification_id, archived_at) SELECT ${me}, v.id, now() FROM v
                  ON CONFLICT (user_id, notification_id) DO UPDATE SET archived_at = now()`,
        unarchive: `UPDATE notification_states s SET archived_at = NULL FROM v
                     WHERE s.user_id = ${me} AND s.notification_id = v.id`,
      }[action];
      const [row]: Array<{ count: string }> = await this.db.query(
        `WITH v AS (${visible}), w AS (${write}) SELECT count(*)::text AS count FROM v`,
        params.values,
      );
      count = Number(row.count);
    }
    if (action === 'read') {
      if (ids) await this.sendIds(ids, (chunk) => ({ t: 'read', userId: user.id, ids: chunk }));
      else await this.bus.send({ t: 'read', userId: user.id, all: true, ...filter });
    } else if (ids) {
      await this.sendIds(ids, (chunk) => ({ t: 'state', userId: user.id, payload: { ids: chunk, change: action } }));
    } else {
      await this.sendState(user.id, { filter: filter!, change: action });
    }
    return { count };
  }

  private sendState(userId: string, payload: StatePayload): Promise<void> {
    return this.bus.send({ t: 'state', userId, payload });
  }

  private async sendIds(
    ids: string[],
    message: (chunk: string[]) => Parameters<NotificationBus['send']>[0],
  ): Promise<void> {
    for (let i = 0; i < ids.length; i += IDS_PER_MESSAGE)
      await this.bus.send(message(ids.slice(i, i + IDS_PER_MESSAGE)));
  }
}
