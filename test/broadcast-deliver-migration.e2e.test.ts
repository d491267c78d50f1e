import { describe, expect, it } from '@jest/globals';
import { BroadcastDeliver1796007700000 } from '../migrations/1796007700000-BroadcastDeliver.js';
import { migrationDatabase } from './support/migration-db.js';

/** The migration that puts a broadcast's `deliver` methods on its row (for the stream marks). */
const db = migrationDatabase();
const migration = new BroadcastDeliver1796007700000();

const broadcast = async (title: string): Promise<string> =>
  (
    await db.ds.query(
      `INSERT INTO notifications (channel, type, severity, title, audience_kind)
       VALUES ('system', 'system.broadcast', 'info', $1, 'all') RETURNING id::text`,
      [title],
    )
  )[0].id;

const job = (notificationId: string, methods: string[], state: string) =>
  db.ds.query(`INSERT INTO pgboss.job (name, data, state) VALUES ('escalate-broadcast', $1, $2::pgboss.job_state)`, [
    JSON.stringify({ notificationId, methods, afterUserId: '0' }),
    state,
  ]);

describe('BroadcastDeliver migration', () => {
  it('takes the methods of pending broadcast escalations from their jobs, checks new rows, and reverts', async () => {
    const runner = db.ds.createQueryRunner();
    try {
      await migration.down(runner); // the schema as it was: no deliver column
      const pending = await broadcast('pending');
      const retrying = await broadcast('retrying');
      const done = await broadcast('done');
      const inAppOnly = await broadcast('in-app only');
      await job(pending, ['push', 'email'], 'created');
      await job(pending, ['push', 'email'], 'active'); // a later page of the same broadcast
      await job(retrying, ['email'], 'retry');
      await job(done, ['email'], 'completed');

      await migration.up(runner);
      const rows: Array<{ id: string; deliver: string[] | null }> = await db.ds.query(
        `SELECT id::text, deliver FROM notifications WHERE id = ANY ($1::bigint[]) ORDER BY notifications.id`,
        [[pending, retrying, done, inAppOnly]],
      );
      expect(rows).toStrictEqual([
        { id: pending, deliver: ['push', 'email'] },
        { id: retrying, deliver: ['email'] },
        { id: done, deliver: null },
        { id: inAppOnly, deliver: null },
      ]);

      // New rows: methods only on broadcasts, never empty, only push and email.
      for (const deliver of [['sms'], []]) {
        await expect(
          db.ds.query(`UPDATE notifications SET deliver = $1 WHERE id = $2`, [deliver, done]),
        ).rejects.toThrow(/notifications_deliver/);
      }
      const user: string = (
        await db.ds.query(`INSERT INTO users (email, password_hash) VALUES ('m@example.com', 'x') RETURNING id::text`)
      )[0].id;
      await expect(
        db.ds.query(
          `INSERT INTO notifications (user_id, channel, type, severity, title, deliver)
           VALUES ($1, 'order', 'order.placed', 'info', 'x', '{email}')`,
          [user],
        ),
      ).rejects.toThrow(/notifications_deliver/);

      await migration.down(runner);
      const columns = await db.ds.query(
        `SELECT 1 FROM information_schema.columns WHERE table_name = 'notifications' AND column_name = 'deliver'`,
      );
      expect(columns).toHaveLength(0);
      await migration.up(runner); // leaves the database as the template had it
    } finally {
      await runner.release();
    }
  });
});
