import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, writeFileSync } from 'node:fs';
import { DataSource } from 'typeorm';
import { NotificationPartitions } from '../src/notifications/partitions.js';
import { startTestApp, type TestApp } from './support/app.js';
import { nextIdIs, seqScansOverOnePage } from './support/partitions.js';
import { signedIn } from './support/shop.js';
import { lastWith, recordStatements, type Statement } from './support/statements.js';
import { openStream } from './support/sse.js';

/**
 * The plans docs/performance.md shows ("Partitioned notifications"): with 125,000 notifications in
 * five partitions, replay, the feed's read and the inbox are index scans, and replay and the feed
 * read no partition below their cursor. The app's own statements are caught on their way to the
 * database and explained with their parameters.
 */
const SIZE = 25_000;
const PARTITIONS = 5;
const USERS = 500;
let t: TestApp;
let statements: Statement[] = [];
beforeAll(async () => {
  t = await startTestApp({ NOTIFICATION_PARTITION_SIZE: String(SIZE) });
  statements = recordStatements(t.app);
});
afterAll(async () => {
  await t.close();
});

async function explain(stmt: Statement): Promise<string> {
  const { rows } = await t.db.query(
    `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON, BUFFERS OFF) ${stmt.sql}`,
    stmt.params,
  );
  return rows.map((r: { 'QUERY PLAN': string }) => r['QUERY PLAN']).join('\n');
}

const last = (marker: string) => lastWith(statements, marker);

function record(name: string, plan: string) {
  mkdirSync('test-artifacts', { recursive: true });
  writeFileSync(`test-artifacts/plan-${name}.txt`, `${plan}\n`);
  console.log(`# ${name}\n${plan}`);
}

/** The partitions of notifications a plan reads, and those it reads sequentially that are more than a page. */
async function scanned(plan: string): Promise<{ partitions: string[]; seqOverOnePage: string[] }> {
  const partitions = [...new Set([...plan.matchAll(/ on (notifications_p\d+)/g)].map((m) => m[1]))];
  return { partitions, seqOverOnePage: await seqScansOverOnePage(t.db, plan) };
}

describe('plans over partitions', () => {
  let me: Awaited<ReturnType<typeof signedIn>>;
  let filled: Array<{ name: string; from: number }>;

  beforeAll(async () => {
    me = await signedIn(t, 'plans-partitions@example.com');
    await t.db.query(
      `INSERT INTO users (email, password_hash) SELECT 'bulk' || g || '@example.com', 'x' FROM generate_series(1, $1) g`,
      [USERS - 1],
    );
    const partitions = t.app.get(NotificationPartitions);
    // Past the migration's wide partitions, then five of SIZE, each filled: every USERS-th row is mine.
    await nextIdIs(t, (await partitions.list()).at(-1)!.to);
    filled = [];
    for (let i = 0; i < PARTITIONS; i++) {
      await partitions.createAhead();
      const [{ from }] = await t.db.query(`SELECT max(id) + 1 AS from FROM notifications`).then((r) => r.rows);
      await t.db.query(
        `WITH bulk AS (SELECT array_agg(id ORDER BY id) AS ids FROM users WHERE email LIKE 'bulk%')
         INSERT INTO notifications (user_id, channel, type, severity, title)
         SELECT CASE WHEN g % $2 = 0 THEN $1 ELSE (SELECT ids FROM bulk)[g % $2] END,
                (ARRAY['order', 'payment', 'system'])[1 + g % 3], 'order.placed', 'info', 'n ' || g
           FROM generate_series(1, $3) g`,
        [me.id, USERS, SIZE],
      );
      filled.push({ name: `notifications_p${from ?? 0}`, from: Number(from) });
    }
    await t.db.query('ANALYZE');
  }, 120_000);

  it('replay from a cursor in the fourth partition reads only the partitions from there, by index', async () => {
    const cursor = (
      await t.db.query(`SELECT min(id)::text AS id FROM notifications WHERE user_id = $1 AND id >= $2`, [
        me.id,
        filled[3].from + SIZE / 2,
      ])
    ).rows[0].id as string;
    const s = await openStream(t.baseUrl, me.client.cookieHeader, { lastEventId: cursor });
    try {
      await s.waitForNotifications(1);
    } finally {
      s.close();
    }
    const plan = await explain(last('ORDER BY n.id ASC LIMIT 500'));
    record('replay-partitions', plan);
    const { partitions, seqOverOnePage } = await scanned(plan);
    expect(seqOverOnePage).toStrictEqual([]);
    expect(partitions.filter((p) => filled.slice(0, 3).some((f) => f.name === p))).toStrictEqual([]);
    expect(partitions).toContain(filled[3].name);
  });

  it("the feed's read of what was just committed reads only the partitions above its position, by index", async () => {
    const s = await openStream(t.baseUrl, me.client.cookieHeader);
    try {
      await s.waitForEvent('ready');
      const before = statements.length;
      await t.app
        .get(DataSource)
        .query(
          `INSERT INTO notifications (user_id, channel, type, severity, title) VALUES ($1, 'order', 'order.placed', 'info', 'live')`,
          [me.id],
        );
      await s.waitForNotifications(1);
      // The read that brought it: the last of the feed's reads, whatever pages came before it.
      const read = statements
        .slice(before)
        .filter((x) => x.sql.includes('n.id <= $2 ORDER BY n.id LIMIT'))
        .at(-1)!;
      const plan = await explain(read);
      record('feed-read-partitions', plan);
      const { partitions, seqOverOnePage } = await scanned(plan);
      expect(seqOverOnePage).toStrictEqual([]);
      const above = (await t.app.get(NotificationPartitions).list()).filter((p) => p.to > Number(read.params[0]));
      expect(partitions).toStrictEqual(above.map((p) => p.name));
      expect(plan).toMatch(/Index Scan using notifications_p\d+_pkey/);
    } finally {
      s.close();
    }
  });

  it('the inbox, first page and a page deep in the past, is index scans; the deep one skips newer partitions', async () => {
    const first = await me.client.get('/notifications?limit=20');
    expect(first.body.items).toHaveLength(20);
    const firstPlan = await explain(last('ORDER BY n.id DESC'));
    record('inbox-partitions', firstPlan);
    expect((await scanned(firstPlan)).seqOverOnePage).toStrictEqual([]);

    const deep = await me.client.get(`/notifications?limit=20&before=${filled[1].from + SIZE / 2}`);
    expect(deep.body.items).toHaveLength(20);
    const deepPlan = await explain(last('ORDER BY n.id DESC'));
    record('inbox-deep-partitions', deepPlan);
    const { partitions, seqOverOnePage } = await scanned(deepPlan);
    expect(seqOverOnePage).toStrictEqual([]);
    expect(partitions.filter((p) => filled.slice(2).some((f) => f.name === p))).toStrictEqual([]);
  });
});
