import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { DeliveryJson, DeliveryMethod, DeliveryStatus } from '../../client/wire.js';
import type { SessionUser } from '../auth/session-user.js';
import type { Activity } from '../notifications/activity.js';
import { SqlParams, visibleNotificationsSql } from '../notifications/visibility.js';

interface Row {
  id: string;
  notification_id: string;
  user_id: string;
  method: DeliveryMethod;
  status: DeliveryStatus | 'sending';
  attempts: number;
  sent_at: Date | null;
  error: string | null;
}

/** A claim in progress is still "scheduled" to the outside: sending is an internal step. */
const toJson = (r: Row): DeliveryJson => ({
  method: r.method,
  status: r.status === 'sending' ? 'scheduled' : r.status,
  attempts: r.attempts,
  sentAt: r.sent_at ? r.sent_at.toISOString() : null,
  error: r.error,
});

const COLUMNS = `d.id::text, d.notification_id::text, d.user_id::text, d.method, d.status, d.attempts, d.sent_at, d.error`;

@Injectable()
export class DeliveryLog {
  constructor(private readonly db: DataSource) {}

  /** This user's deliveries of a notification they may see; null if they may not see it. */
  async ofNotification(user: SessionUser, id: string): Promise<DeliveryJson[] | null> {
    const params = new SqlParams();
    const nid = params.add(id);
    const visible = visibleNotificationsSql(params, {
      viewer: { id: user.id, role: user.role, createdAt: user.createdAt },
      where: [`n.id = ${nid}::bigint`],
      order: 'ASC',
      limit: '1',
    });
    const seen: unknown[] = await this.db.query(visible, params.values);
    if (seen.length === 0) return null;
    const rows: Row[] = await this.db.query(
      `SELECT ${COLUMNS} FROM deliveries d WHERE d.notification_id = $1 AND d.user_id = $2 ORDER BY d.method`,
      [id, user.id],
    );
    return rows.map(toJson);
  }

  async list(q: { status?: DeliveryStatus; limit: number; before?: string }) {
    const statuses = q.status === 'scheduled' ? ['scheduled', 'sending'] : q.status ? [q.status] : null;
    const rows: Row[] = await this.db.query(
      `SELECT ${COLUMNS} FROM deliveries d
        WHERE ($1::text[] IS NULL OR d.status = ANY ($1::text[])) AND ($2::bigint IS NULL OR d.id < $2::bigint)
        ORDER BY d.id DESC LIMIT $3`,
      [statuses, q.before ?? null, q.limit + 1],
    );
    const page = rows.slice(0, q.limit);
    return {
      items: page.map((r) => ({ id: r.id, notificationId: r.notification_id, userId: r.user_id, ...toJson(r) })),
      nextBefore: rows.length > q.limit ? page[page.length - 1].id : null,
    };
  }
}

/** A recorded outcome as the core's activity (outbound webhooks): sent or failed; null while it is retried. */
export function deliveryActivity(
  userId: string,
  method: DeliveryMethod,
  rows: ReadonlyArray<{ id: string | number }>,
  outcome: { status: string; error: string | null },
): Activity | null {
  const notificationIds = rows.map((r) => String(r.id));
  if (outcome.status === 'sent') return { type: 'delivery.sent', userId, notificationIds, method };
  if (outcome.status !== 'failed') return null;
  return { type: 'delivery.failed', userId, notificationIds, method, error: outcome.error ?? 'failed' };
}
