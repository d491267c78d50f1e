import { TransactionRunner } from '../../src/database/transaction.js';
import { NotificationPublisher } from '../../src/notifications/notification.publisher.js';
import type {
  Audience,
  BroadcastDraft,
  NotificationRow,
  PersonalDraft,
} from '../../src/notifications/notification.types.js';
import type { TestApp } from './app.js';

/** Publishes through the real publisher of a running test app. */
export function publishTo(t: TestApp, userId: string, draft: Partial<PersonalDraft> = {}): Promise<NotificationRow> {
  return t.app.get(NotificationPublisher).send({
    userId,
    channel: 'order',
    type: 'order.placed',
    severity: 'info',
    title: 'Order placed',
    body: 'Thanks for your order',
    data: {},
    ...draft,
  });
}

export async function publishMany(
  t: TestApp,
  userId: string,
  n: number,
  draft: Partial<PersonalDraft> = {},
): Promise<NotificationRow[]> {
  const rows = await Promise.all(
    Array.from({ length: n }, (_, i) => publishTo(t, userId, { title: `n${i}`, ...draft })),
  );
  return rows.sort((a, b) => Number(a.id) - Number(b.id));
}

export function broadcast(
  t: TestApp,
  audience: Audience = { kind: 'all' },
  draft: Partial<BroadcastDraft> = {},
): Promise<NotificationRow> {
  return t.app.get(TransactionRunner).run((tx) =>
    t.app.get(NotificationPublisher).publishBroadcast(tx, {
      channel: 'system',
      type: 'system.broadcast',
      severity: 'info',
      title: 'Maintenance tonight',
      body: 'The shop is down from 2 to 3.',
      data: {},
      audience,
      expiresAt: null,
      createdBy: null,
      ...draft,
    }),
  );
}

/** The ids the database says `userId` may see, ascending (through the app's inbox, all pages). */
export async function idsInDatabaseFor(t: TestApp, userId: string): Promise<string[]> {
  const { rows } = await t.db.query(`SELECT id::text FROM notifications WHERE user_id = $1 ORDER BY notifications.id`, [
    userId,
  ]);
  return rows.map((r: { id: string }) => r.id);
}

/** The statuses of a notification's delivery rows (one per user and method). */
export async function deliveryStatuses(t: TestApp, notificationId: string): Promise<Array<{ status: string }>> {
  return (await t.db.query(`SELECT status FROM deliveries WHERE notification_id = $1`, [notificationId])).rows;
}
