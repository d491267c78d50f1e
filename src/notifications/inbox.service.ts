import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { SessionUser } from '../auth/session-user.js';
import { notFound } from '../common/domain-error.js';
import { NotificationActivity } from './activity.js';
import { NotificationBus } from './bus/notification-bus.js';
import {
  CHANNELS,
  type Channel,
  type NotificationJson,
  type NotificationRow,
  perKey,
  toJson,
} from './notification.types.js';
import { SqlParams, readAtSql, unreadSql, visibleNotificationsSql } from './visibility.js';

export interface InboxQuery {
  limit: number;
  before?: string;
  channel?: Channel;
  unread?: boolean;
}

export interface UnreadCount {
  total: number;
  byChannel: Record<Channel, number>;
}

const viewerOf = (u: SessionUser) => ({ id: u.id, role: u.role, createdAt: u.createdAt });

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
    if (q.unread) where.push(unreadSql(me));
    const sql = visibleNotificationsSql(params, {
      viewer: viewerOf(user),
      where,
      order: 'DESC',
      limit: params.add(q.limit + 1),
      select: [readAtSql(me)],
    });
    const rows: NotificationRow[] = await this.db.query(sql, params.values);
    const page = rows.slice(0, q.limit);
    return {
      items: page.map(toJson),
      nextBefore: rows.length > q.limit ? String(page[page.length - 1].id) : null,
    };
  }

  async unreadCount(user: SessionUser): Promise<UnreadCount> {
    const params = new SqlParams();
    const me = params.add(user.id);
    const sql = visibleNotificationsSql(params, { viewer: viewerOf(user), where: [unreadSql(me)], order: 'ASC' });
    const rows: Array<{ channel: Channel; count: string }> = await this.db.query(
      `SELECT channel, count(*)::text AS count FROM (${sql}) u GROUP BY channel`,
      params.values,
    );
    const byChannel = perKey(CHANNELS, () => 0);
    for (const r of rows) byChannel[r.channel] = Number(r.count);
    return { total: rows.reduce((sum, r) => sum + Number(r.count), 0), byChannel };
  }

  /** 404 unless the user may see it; idempotent. */
  async markRead(user: SessionUser, id: string): Promise<void> {
    const params = new SqlParams();
    const me = params.add(user.id);
    const visible = visibleNotificationsSql(params, {
      viewer: viewerOf(user),
      where: [`n.id = ${params.add(id)}`],
      order: 'ASC',
      limit: '1',
    });
    const rows: unknown[] = await this.db.query(
      `WITH v AS (${visible}),
            ins AS (INSERT INTO notification_reads (user_id, notification_id)
                    SELECT ${me}, v.id FROM v ON CONFLICT DO NOTHING)
       SELECT id FROM v`,
      params.values,
    );
    if (rows.length === 0) throw notFound('Notification not found');
    await this.bus.send({ t: 'read', userId: user.id, ids: [id] });
    this.activity.emit({ type: 'notification.read', userId: user.id, notificationIds: [id] });
  }

  /**
   * Everything visible now (in one channel or all) becomes read: one statement
   * moving the per-channel watermark to the newest id, however many
   * notifications (personal or broadcast) that covers.
   */
  async markAllRead(user: SessionUser, channel?: Channel): Promise<void> {
    await this.db.query(
      `INSERT INTO notification_read_marks AS m (user_id, channel, up_to_id, read_at)
       SELECT $1, c, (SELECT COALESCE(max(id), 0) FROM notifications), now() FROM unnest($2::text[]) AS c
       ON CONFLICT (user_id, channel) DO UPDATE
         SET up_to_id = GREATEST(m.up_to_id, EXCLUDED.up_to_id), read_at = EXCLUDED.read_at`,
      [user.id, channel ? [channel] : CHANNELS],
    );
    await this.bus.send({ t: 'read', userId: user.id, all: true, ...(channel ? { channel } : {}) });
    this.activity.emit({ type: 'notification.read', userId: user.id, all: true, ...(channel ? { channel } : {}) });
  }
}
