import { describe, expect, it } from '@jest/globals';
import { PartitionedNotifications1797600100000 } from '../migrations/1797600100000-PartitionedNotifications.js';
import { migrationDatabase } from './support/migration-db.js';

/** Issue 24: the migration that makes an existing `notifications` the first partition, unrewritten. */
const db = migrationDatabase();
const migration = new PartitionedNotifications1797600100000();

const run = async (step: 'up' | 'down') => {
  const runner = db.ds.createQueryRunner();
  await runner.startTransaction();
  try {
    await migration[step](runner);
    await runner.commitTransaction();
  } catch (err) {
    await runner.rollbackTransaction();
    throw err;
  } finally {
    await runner.release();
  }
};

const one = async <T>(sql: string, params: unknown[] = []): Promise<T> => (await db.ds.query(sql, params))[0] as T;

const publish = async (userId: string, title: string): Promise<string> =>
  (
    await one<{ id: string }>(
      `INSERT INTO notifications (user_id, channel, type, severity, title) VALUES ($1, 'order', 'order.placed', 'info', $2)
       RETURNING id::text`,
      [userId, title],
    )
  ).id;

const partitions = async () =>
  (
    await db.ds.query(
      `SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'notifications'::regclass ORDER BY c.oid`,
    )
  ).map((r: { relname: string; bound: string }) => `${r.relname} ${r.bound}`);

describe('PartitionedNotifications migration', () => {
  it('attaches the existing table as the first partition without rewriting it, keeps ids and keys, and reverts', async () => {
    await run('down'); // a deployment from before: one heap
    expect(await one(`SELECT relkind FROM pg_class WHERE relname = 'notifications'`)).toStrictEqual({ relkind: 'r' });
    const user = (
      await one<{ id: string }>(
        `INSERT INTO users (email, password_hash) VALUES ('p@example.com', 'x') RETURNING id::text`,
      )
    ).id;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await publish(user, `before ${i}`));
    await db.ds.query(`INSERT INTO notification_reads (user_id, notification_id) VALUES ($1, $2)`, [user, ids[0]]);
    await db.ds.query(
      `INSERT INTO deliveries (notification_id, user_id, method, status) VALUES ($1, $2, 'email', 'sent')`,
      [ids[1], user],
    );
    const { file } = await one<{ file: string }>(`SELECT pg_relation_filenode('notifications')::text AS file`);

    await run('up');
    const next = String(Number(ids[4]) + 1);
    expect(await one(`SELECT relkind FROM pg_class WHERE relname = 'notifications'`)).toStrictEqual({ relkind: 'p' });
    expect(await partitions()).toStrictEqual([
      `notifications_p0 FOR VALUES FROM (MINVALUE) TO ('${next}')`,
      `notifications_p${next} FOR VALUES FROM ('${next}') TO ('${Number(next) + 1_000_000}')`,
      `notifications_p${Number(next) + 1_000_000} FOR VALUES FROM ('${Number(next) + 1_000_000}') TO ('${Number(next) + 2_000_000}')`,
    ]);
    // The same file: attached, not copied.
    expect(await one(`SELECT pg_relation_filenode('notifications_p0')::text AS file`)).toStrictEqual({ file });
    expect(
      (await db.ds.query(`SELECT id::text, title FROM notifications WHERE user_id = $1 ORDER BY id`, [user])).map(
        (r: { id: string }) => r.id,
      ),
    ).toStrictEqual(ids);
    // Ids continue, into the next partition.
    const after = await publish(user, 'after');
    expect(after).toBe(next);
    expect(await one(`SELECT tableoid::regclass::text AS p FROM notifications WHERE id = $1`, [after])).toStrictEqual({
      p: `notifications_p${next}`,
    });
    // Keys to notifications(id) still hold, in both partitions, and still cascade.
    await expect(
      db.ds.query(`INSERT INTO notification_reads (user_id, notification_id) VALUES ($1, 999999999)`, [user]),
    ).rejects.toThrow(/notification_reads_notification_id_fkey/);
    await db.ds.query(`INSERT INTO notification_reads (user_id, notification_id) VALUES ($1, $2)`, [user, after]);
    await db.ds.query(`DELETE FROM notifications WHERE id = $1`, [ids[1]]);
    expect(await one(`SELECT count(*)::int AS n FROM deliveries WHERE user_id = $1`, [user])).toStrictEqual({ n: 0 });
    // Every index of the parent has a partition of its own on the old table, none built anew.
    expect(
      (
        await db.ds.query(
          `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE c.relkind = 'i' AND c.relname LIKE 'notifications_p0_%' ORDER BY 1`,
        )
      ).map((r: { relname: string }) => r.relname),
    ).toStrictEqual([
      'notifications_p0_broadcast_idx',
      'notifications_p0_created_at_idx',
      'notifications_p0_pkey',
      'notifications_p0_user_channel_idx',
      'notifications_p0_user_idx',
    ]);

    await run('down');
    expect(await one(`SELECT relkind FROM pg_class WHERE relname = 'notifications'`)).toStrictEqual({ relkind: 'r' });
    expect(
      (await db.ds.query(`SELECT id::text FROM notifications WHERE user_id = $1 ORDER BY id`, [user])).map(
        (r: { id: string }) => r.id,
      ),
    ).toStrictEqual([ids[0], ids[2], ids[3], ids[4], after]);
    expect(await publish(user, 'reverted')).toBe(String(Number(after) + 1));
    await expect(
      db.ds.query(`INSERT INTO notification_reads (user_id, notification_id) VALUES ($1, 999999999)`, [user]),
    ).rejects.toThrow(/notification_reads_notification_id_fkey/);
    expect(await one(`SELECT count(*)::int AS n FROM notification_reads WHERE user_id = $1`, [user])).toStrictEqual({
      n: 2,
    });

    await run('up'); // as the rest of the chain expects it
    expect(await one(`SELECT relkind FROM pg_class WHERE relname = 'notifications'`)).toStrictEqual({ relkind: 'p' });
  });
});
