import { describe, expect, it } from '@jest/globals';
import { DeliveryService } from '../src/delivery/delivery.service.js';
import { NotificationPartitions } from '../src/notifications/partitions.js';
import { RetentionService } from '../src/notifications/retention.service.js';
import { sharedTestApp } from './support/app.js';
import { nextIdIs, nextPartitionStart } from './support/partitions.js';
import { publishMany, publishTo } from './support/publish.js';
import { openStream } from './support/sse.js';
import { signedIn } from './support/shop.js';

/**
 * Issue 24: `notifications` partitioned by id range. Partitions are made ahead of the ids by the
 * job, publishing and replay cross their boundaries, retention drops whole expired ones.
 */
const SIZE = 100;
const t = sharedTestApp({ NOTIFICATION_PARTITION_SIZE: String(SIZE) });

const partitions = () => t.app.get(NotificationPartitions);
const ids = (rows: Array<{ id: string | number }>) => rows.map((r) => String(r.id));

/** The partitions above the newest id, each with its row count. */
async function emptyAhead(): Promise<Array<{ name: string; from: number | null; to: number; rows: number }>> {
  const { rows } = await t.db.query(`SELECT coalesce(max(id), 0)::text AS newest FROM notifications`);
  const above = (await partitions().list()).filter((p) => p.from !== null && p.from > Number(rows[0].newest));
  return Promise.all(
    above.map(async (p) => ({ ...p, rows: (await t.db.query(`SELECT count(*)::int AS n FROM ${p.name}`)).rows[0].n })),
  );
}

describe('partitions ahead', () => {
  it('the job keeps two empty partitions above the newest id, owned and indexed as the parent', async () => {
    const { id } = await signedIn(t, 'ahead@example.com');
    expect(await partitions().createAhead()).toStrictEqual([]);
    const made = await emptyAhead();
    expect(made).toHaveLength(2);
    const last = made[1];

    // The ids reach the last partition made ahead: none is left empty above, so the job makes two.
    await nextIdIs(t, last.from!);
    expect(String((await publishTo(t, id)).id)).toBe(String(last.from));
    expect(await partitions().createAhead()).toStrictEqual([
      `notifications_p${last.to}`,
      `notifications_p${last.to + SIZE}`,
    ]);
    expect((await emptyAhead()).map(({ name, from, to, rows }) => [name, from, to, rows])).toStrictEqual([
      [`notifications_p${last.to}`, last.to, last.to + SIZE, 0],
      [`notifications_p${last.to + SIZE}`, last.to + SIZE, last.to + 2 * SIZE, 0],
    ]);

    const { rows } = await t.db.query(
      `SELECT c.relname, c.relowner::regrole::text = current_user AS ours,
              (SELECT count(*)::int FROM pg_inherits i JOIN pg_class x ON x.oid = i.inhrelid
                WHERE x.relkind = 'i' AND x.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = c.oid)) AS indexes
         FROM pg_class c WHERE c.relname = $1`,
      [`notifications_p${last.to}`],
    );
    expect(rows).toStrictEqual([{ relname: `notifications_p${last.to}`, ours: true, indexes: 5 }]);

    // Keys to notifications(id) reach the new partition.
    await nextIdIs(t, last.to);
    const row = await publishTo(t, id);
    expect(String(row.id)).toBe(String(last.to));
    await t.db.query(`INSERT INTO notification_reads (user_id, notification_id) VALUES ($1, $2)`, [id, row.id]);
    await expect(
      t.db.query(`INSERT INTO notification_reads (user_id, notification_id) VALUES ($1, $2)`, [id, last.to + 1]),
    ).rejects.toThrow(/notification_reads_notification_id_fkey/);
  });
});

describe('across a partition boundary', () => {
  it('publishes, streams, replays and lists exactly, with no gap and no duplicate', async () => {
    const { client: c, id } = await signedIn(t, 'boundary@example.com');
    const boundary = await nextPartitionStart(t);
    await nextIdIs(t, boundary - 3);
    const s = await openStream(t.baseUrl, c.cookieHeader);
    const published: string[] = [];
    try {
      await s.waitForEvent('ready');
      for (let i = 0; i < 6; i++) published.push(String((await publishTo(t, id, { title: `n${i}` })).id));
      expect(published).toStrictEqual(Array.from({ length: 6 }, (_, i) => String(boundary - 3 + i)));
      await s.waitForNotifications(6);
      expect(s.notifications.map((e) => e.id)).toStrictEqual(published);
    } finally {
      s.close();
    }

    const replay = await openStream(t.baseUrl, c.cookieHeader, { lastEventId: published[1] });
    try {
      await replay.waitForNotifications(4);
      await publishTo(t, id, { title: 'after' }).then((r) => published.push(String(r.id)));
      await replay.waitForNotifications(5);
      expect(replay.notifications.map((e) => e.id)).toStrictEqual(published.slice(2));
    } finally {
      replay.close();
    }

    const inbox = await c.get('/notifications?limit=4');
    expect(ids(inbox.body.items)).toStrictEqual(published.slice(3).reverse());
    const next = await c.get(`/notifications?limit=4&before=${inbox.body.nextBefore}`);
    expect(ids(next.body.items)).toStrictEqual(published.slice(0, 3).reverse());
  });
});

describe('retention', () => {
  it('drops whole expired partitions and the rows that reference them, never deletes a row, keeps the newest', async () => {
    const { client: c, id } = await signedIn(t, 'retention@example.com');
    const [old] = await publishMany(t, id, 1);
    await t.db.query(`INSERT INTO notification_reads (user_id, notification_id) VALUES ($1, $2)`, [id, old.id]);
    await t.db.query(`INSERT INTO notification_states (user_id, notification_id, archived_at) VALUES ($1, $2, now())`, [
      id,
      old.id,
    ]);
    // A stream mark has no key into notifications (src/delivery/stream-marks.ts): the sweep takes it.
    await t.db.query(`INSERT INTO notification_streamed (notification_id, user_id) VALUES ($1, $2)`, [old.id, id]);
    const markKeys = await t.db.query(`SELECT conname FROM pg_constraint
      WHERE conrelid = 'notification_streamed'::regclass AND confrelid = 'notifications'::regclass`);
    expect(markKeys.rows).toStrictEqual([]);
    const boundary = await nextPartitionStart(t);
    await nextIdIs(t, boundary);
    const fresh = await publishMany(t, id, 3);
    await t.db.query(`UPDATE notifications SET created_at = now() - interval '100 days' WHERE id < $1`, [boundary]);
    const expired = (await partitions().list()).filter((p) => p.to <= boundary).map((p) => p.name);
    expect(expired.length).toBeGreaterThanOrEqual(2);

    // A transaction in progress that holds locks DETACH needs (a read receipt: on notification_reads,
    // and through its key check on notifications) is not aborted: retention gives way, and retries later.
    const other = await signedIn(t, 'blocker@example.com');
    const blocker = await t.db.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query(`INSERT INTO notification_reads (user_id, notification_id) VALUES ($1, $2)`, [
        other.id,
        fresh[0].id,
      ]);
      await expect(t.app.get(RetentionService).run(90)).rejects.toThrow(/lock timeout/);
      await blocker.query(`INSERT INTO notification_reads (user_id, notification_id) VALUES ($1, $2)`, [
        other.id,
        fresh[1].id,
      ]);
      await blocker.query('COMMIT');
    } finally {
      blocker.release();
    }
    expect((await partitions().list()).filter((p) => p.to <= boundary).map((p) => p.name)).toStrictEqual(expired);

    // A row-by-row delete would leave its trace here.
    await t.db.query(`CREATE TABLE deleted_notifications (id bigint)`);
    await t.db.query(`CREATE FUNCTION log_notification_delete() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO deleted_notifications VALUES (OLD.id); RETURN OLD; END $$`);
    await t.db.query(`CREATE TRIGGER log_delete AFTER DELETE ON notifications
      FOR EACH ROW EXECUTE FUNCTION log_notification_delete()`);
    try {
      // Two instances at once: each partition is dropped by one of them.
      const both = await Promise.all([t.app.get(RetentionService).run(90), partitions().dropExpired(90)]);
      expect(both.flat().sort()).toStrictEqual([...expired].sort());
    } finally {
      await t.db.query(`DROP TRIGGER log_delete ON notifications`);
    }
    await t.app.get(DeliveryService).sweep(); // forgets the stream marks below the horizon
    expect((await t.db.query(`SELECT count(*)::int AS n FROM deleted_notifications`)).rows).toStrictEqual([{ n: 0 }]);
    expect((await t.db.query(`SELECT relname FROM pg_class WHERE relname = ANY ($1)`, [expired])).rows).toStrictEqual(
      [],
    );
    expect((await partitions().list())[0].from).toBe(boundary);
    expect(
      (await t.db.query(`SELECT id::text FROM notifications WHERE user_id = $1 ORDER BY id`, [id])).rows.map(
        (r: { id: string }) => r.id,
      ),
    ).toStrictEqual(ids(fresh));
    expect(
      (
        await t.db.query(
          `SELECT (SELECT count(*) FROM notification_reads WHERE user_id = $1)::int AS reads,
                  (SELECT count(*) FROM notification_states WHERE user_id = $1)::int AS states,
                  (SELECT count(*) FROM notification_streamed WHERE user_id = $1)::int AS marks,
                  (SELECT deleted_up_to::text FROM notification_retention) AS horizon`,
          [id],
        )
      ).rows,
    ).toStrictEqual([{ reads: 0, states: 0, marks: 0, horizon: String(boundary - 1) }]);

    // A stream from before the horizon is told, then gets what is kept.
    const s = await openStream(t.baseUrl, c.cookieHeader, { lastEventId: String(old.id) });
    try {
      await s.waitForEvent('reset');
      expect(JSON.parse(s.events[1].data)).toStrictEqual({ reason: 'history-truncated' });
      await s.waitForNotifications(3);
      expect(s.notifications.map((e) => e.id)).toStrictEqual(ids(fresh));
    } finally {
      s.close();
    }

    // The partition of the newest id stays, however old its rows.
    await t.db.query(`UPDATE notifications SET created_at = now() - interval '100 days'`);
    expect(await t.app.get(RetentionService).run(90)).toStrictEqual([]);
    expect(
      (await t.db.query(`SELECT count(*)::int AS n FROM notifications WHERE user_id = $1`, [id])).rows,
    ).toStrictEqual([{ n: 3 }]);
  });
});
