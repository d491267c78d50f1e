import { describe, expect, it } from '@jest/globals';
import { DeliveryMethodsAsData1797000000000 } from '../migrations/1797000000000-DeliveryMethodsAsData.js';
import { addDeliveryMethod, removeDeliveryMethod } from '../migrations/delivery-methods.js';
import { migrationDatabase } from './support/migration-db.js';

/** The migration that turns the per-method columns (push_off, email_off, …) into rows (issue 21). */
const db = migrationDatabase();
const migration = new DeliveryMethodsAsData1797000000000();

const user = async (email: string): Promise<string> =>
  (await db.ds.query(`INSERT INTO users (email, password_hash) VALUES ($1, 'x') RETURNING id::text`, [email]))[0].id;

const toggles = (ids: string[]) =>
  db.ds.query(
    `SELECT user_id::text, channel, method, enabled, changed_at::text FROM delivery_toggles
      WHERE user_id = ANY ($1::bigint[]) ORDER BY user_id, method, channel`,
    [ids],
  );

const broadcast = (deliver: string[]) =>
  db.ds.query(
    `INSERT INTO notifications (channel, type, severity, title, audience_kind, deliver)
     VALUES ('system', 'system.broadcast', 'info', 'x', 'all', $1) RETURNING id::text`,
    [deliver],
  );

describe('DeliveryMethodsAsData migration', () => {
  it('moves each per-method column into toggle rows, keeps unsubscribe times, and reverts', async () => {
    const runner = db.ds.createQueryRunner();
    try {
      await migration.down(runner); // the schema as it was: a column per method
      const [a, b, c] = [await user('m-a@example.com'), await user('m-b@example.com'), await user('m-c@example.com')];
      await db.ds.query(
        `INSERT INTO notification_preferences (user_id, push_off, email_off, email_changed_at) VALUES
           ($1, '{order}', '{order,payment}', '{"order": 1000, "payment": 2000}'),
           ($2, '{}', '{}', '{"system": 3000}'),
           ($3, '{}', '{}', '{}')`,
        [a, b, c],
      );

      await migration.up(runner);
      expect(await toggles([a, b, c])).toStrictEqual([
        { user_id: a, channel: 'order', method: 'email', enabled: false, changed_at: '1000' },
        { user_id: a, channel: 'payment', method: 'email', enabled: false, changed_at: '2000' },
        { user_id: a, channel: 'order', method: 'push', enabled: false, changed_at: null },
        // Switched off and on again: on (the default), and links sent before 3000 are spent.
        { user_id: b, channel: 'system', method: 'email', enabled: true, changed_at: '3000' },
      ]);
      const columns: unknown[] = await db.ds.query(
        `SELECT 1 FROM information_schema.columns
          WHERE table_name = 'notification_preferences' AND column_name IN ('push_off', 'email_off', 'email_changed_at')`,
      );
      expect(columns).toHaveLength(0);
      // The methods are rows now: an unknown one is refused by the log and by a broadcast.
      await expect(
        db.ds.query(
          `INSERT INTO delivery_toggles (user_id, channel, method, enabled) VALUES ($1, 'order', 'fax', true)`,
          [a],
        ),
      ).rejects.toThrow(/foreign key/);
      await expect(broadcast(['fax'])).rejects.toThrow(/notifications_deliver/);

      await migration.down(runner);
      const prefs = await db.ds.query(
        `SELECT user_id::text, push_off, email_off, email_changed_at FROM notification_preferences
          WHERE user_id = ANY ($1::bigint[]) ORDER BY user_id`,
        [[a, b, c]],
      );
      expect(prefs).toStrictEqual([
        {
          user_id: a,
          push_off: ['order'],
          email_off: ['order', 'payment'],
          email_changed_at: { order: 1000, payment: 2000 },
        },
        { user_id: b, push_off: [], email_off: [], email_changed_at: { system: 3000 } },
        { user_id: c, push_off: [], email_off: [], email_changed_at: {} },
      ]);
    } finally {
      await migration.up(runner).catch(() => undefined);
      await runner.release();
    }
  });

  it("a method's migration adds its name and queue, in either order, and its down removes them", async () => {
    const runner = db.ds.createQueryRunner();
    try {
      await addDeliveryMethod(runner, 'sms');
      await addDeliveryMethod(runner, 'chat');
      const [{ id }] = await broadcast(['email', 'sms', 'chat']);
      const queues: Array<{ name: string }> = await db.ds.query(
        `SELECT name FROM pgboss.queue WHERE name IN ('deliver-sms', 'deliver-chat') ORDER BY name`,
      );
      expect(queues.map((q) => q.name)).toStrictEqual(['deliver-chat', 'deliver-sms']);

      await removeDeliveryMethod(runner, 'sms');
      const [row] = await db.ds.query(`SELECT deliver FROM notifications WHERE id = $1`, [id]);
      expect(row.deliver).toStrictEqual(['email', 'chat']);
      await expect(broadcast(['sms'])).rejects.toThrow(/notifications_deliver/);
      await broadcast(['chat']);
      await removeDeliveryMethod(runner, 'chat');
      const left: unknown[] = await db.ds.query(
        `SELECT 1 FROM pgboss.queue WHERE name IN ('deliver-sms', 'deliver-chat')`,
      );
      expect(left).toHaveLength(0);
    } finally {
      await runner.release();
    }
  });
});
