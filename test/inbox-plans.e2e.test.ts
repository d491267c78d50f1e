import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, writeFileSync } from 'node:fs';
import { startTestApp, type TestApp } from './support/app.js';
import { seqScansOverOnePage } from './support/partitions.js';
import { signedIn } from './support/shop.js';
import { lastWith, recordStatements, type Statement } from './support/statements.js';

/**
 * The plans docs/performance.md shows ("Inbox states"): the inbox list with 100,000 archived
 * rows behind it, and a bulk read of 10,000 notifications in one request, stay index scans.
 * The app's own statements are caught on their way to the database and explained with their
 * parameters (EXPLAIN ANALYZE of a write runs inside a transaction that is rolled back).
 */
let t: TestApp;
let statements: Statement[] = [];
beforeAll(async () => {
  t = await startTestApp();
  statements = recordStatements(t.app);
});
afterAll(async () => {
  await t.close();
});

async function explain(stmt: Statement): Promise<string> {
  const c = await t.db.connect();
  try {
    await c.query('BEGIN');
    const { rows } = await c.query(
      `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON, BUFFERS OFF) ${stmt.sql}`,
      stmt.params,
    );
    return rows.map((r: { 'QUERY PLAN': string }) => r['QUERY PLAN']).join('\n');
  } finally {
    await c.query('ROLLBACK');
    c.release();
  }
}

/** The last statement the app sent that mentions `marker`. */
const last = (marker: string) => lastWith(statements, marker);

/** `count` info notifications of `userId` in one statement, titled `<title> 1`, `<title> 2`, … */
async function insertNotifications(userId: string, count: number, channel: 'order' | 'payment', title: string) {
  const type = channel === 'order' ? 'order.placed' : 'payment.pending';
  await t.db.query(
    `INSERT INTO notifications (user_id, channel, type, severity, title)
     SELECT $1, $2, $3, 'info', $4 || ' ' || g FROM generate_series(1, $5::int) g`,
    [userId, channel, type, title, count],
  );
}

function record(name: string, plan: string, ms: number) {
  mkdirSync('test-artifacts', { recursive: true });
  writeFileSync(`test-artifacts/plan-${name}.txt`, `${ms.toFixed(1)} ms over HTTP\n${plan}\n`);
  console.log(`# ${name}: ${ms.toFixed(1)} ms over HTTP\n${plan}`);
}

describe('inbox plans', () => {
  it('the inbox list with 100,000 archived notifications behind it is index scans', async () => {
    const u = await signedIn(t, 'plans-archive@example.com');
    await insertNotifications(u.id, 100_000, 'order', 'old');
    await t.db.query(
      `INSERT INTO notification_states (user_id, notification_id, archived_at)
       SELECT $1, id, now() FROM notifications WHERE user_id = $1`,
      [u.id],
    );
    await insertNotifications(u.id, 30, 'order', 'new');
    await t.db.query('ANALYZE');
    const started = performance.now();
    const res = await u.client.get('/notifications?limit=20');
    const ms = performance.now() - started;
    expect(res.status).toBe(200);
    expect(res.body.items).toHaveLength(20);
    const plan = await explain(last('ORDER BY n.id DESC'));
    record('inbox-100k-archived', plan, ms);
    expect(await seqScansOverOnePage(t.db, plan)).toStrictEqual([]);
    expect(plan).toMatch(/Index Scan Backward using notifications_\w*(pkey|user_idx|user_id_id_idx)/);
    // The archive itself, newest first, is read from the same index.
    const archived = await u.client.get('/notifications?status=archived&limit=20');
    expect(archived.body.items).toHaveLength(20);
    const archivedPlan = await explain(last('ORDER BY n.id DESC'));
    record('archived-list', archivedPlan, 0);
    expect(await seqScansOverOnePage(t.db, archivedPlan)).toStrictEqual([]);
  }, 120_000);

  it('a bulk read of 10,000 notifications is one statement of index scans', async () => {
    const u = await signedIn(t, 'plans-bulk@example.com');
    await insertNotifications(u.id, 10_000, 'payment', 'n');
    await t.db.query('ANALYZE');
    expect((await u.client.get('/notifications/unread-count')).body.total).toBe(10000);
    const before = statements.length;
    const started = performance.now();
    const res = await u.client.post('/notifications/bulk', { action: 'read', filter: { channel: 'payment' } });
    const ms = performance.now() - started;
    expect(res.status).toBe(200);
    expect(res.body).toStrictEqual({ count: 10000 });
    const writes = statements.slice(before).filter((s) => /notification_read_marks/.test(s.sql));
    expect(writes).toHaveLength(1);
    expect((await u.client.get('/notifications/unread-count')).body.total).toBe(0);
    // Explained on the same data made unread again (inside the rolled-back transaction).
    const plan = await explain({
      sql: `WITH reset AS (DELETE FROM notification_read_marks WHERE user_id = ${Number(u.id)}) ${writes[0].sql.replace(/^\s*WITH/, ',')}`,
      params: writes[0].params,
    }).catch(() => explain(writes[0]));
    record('bulk-read-10k', plan, ms);
    expect(await seqScansOverOnePage(t.db, plan)).toStrictEqual([]);
  }, 120_000);
});
