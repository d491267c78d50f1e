import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { EscalationScanner, SCAN_PAGE, SCAN_SQL, type ScanResult } from '../src/delivery/escalation-scanner.js';
import { freshDatabase, startTestApp, type TestApp } from './support/app.js';
import { publishTo } from './support/publish.js';
import { signedIn } from './support/shop.js';
import { TestSmtpServer } from './support/smtp.js';
import { until } from './support/until.js';

/*
 * Personal notifications escalate by a durable cursor over the notifications table, not
 * by a pg-boss job written in every publishing transaction. Two instances of the app
 * share one database here, as two instances behind a load balancer do.
 */
const DELAY = 400;
let db: { url: string; drop: () => Promise<void> };
let a: TestApp;
let b: TestApp;
let smtp: TestSmtpServer;

beforeAll(async () => {
  smtp = new TestSmtpServer();
  await smtp.start();
  db = await freshDatabase();
  const shared = { url: db.url, drop: () => Promise.resolve() };
  const env = { ESCALATE_AFTER_MS: String(DELAY), SMTP_URL: smtp.url };
  a = await startTestApp(env, shared);
  b = await startTestApp(env, shared);
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await db?.drop();
  await smtp?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const deliveriesOf = async (notificationId: string): Promise<Array<{ method: string; status: string }>> =>
  (await a.db.query(`SELECT method, status FROM deliveries WHERE notification_id = $1`, [notificationId])).rows;

/** The notification ids in the emails to `address` (a digest lists several). */
const emailedIds = (address: string): string[] =>
  smtp.to(address).flatMap((m) => (m.mail.headers.get('x-notification-ids') as string).split(','));

const escalateJobs = async (): Promise<number> =>
  Number(
    (
      await a.db.query(
        `SELECT (SELECT count(*) FROM pgboss.job WHERE name = 'escalate') + (SELECT count(*) FROM pgboss.archive WHERE name = 'escalate') AS n`,
      )
    ).rows[0].n,
  );

describe('escalation by cursor', () => {
  it('placing orders writes no escalate job, and each order still goes out by email once', async () => {
    const { client, id } = await signedIn(a, 'cursor-orders@example.com');
    for (let i = 0; i < 3; i++) {
      const res = await client.post('/orders', { items: [{ sku: `SKU-${i}`, quantity: 1, unitPrice: 100 }] });
      expect(res.status).toBe(201);
    }
    const log = await until(
      'three sent emails',
      async () =>
        (await a.db.query(`SELECT method, status FROM deliveries WHERE user_id = $1`, [id])).rows as Array<{
          method: string;
          status: string;
        }>,
      (rows) => rows.length === 3 && rows.every((r) => r.status === 'sent'),
    );
    expect(log.map((r) => r.method)).toStrictEqual(['email', 'email', 'email']);
    const ids = emailedIds('cursor-orders@example.com');
    expect(ids).toHaveLength(3);
    expect(new Set(ids).size).toBe(3);
    expect(await escalateJobs()).toBe(0);
  });

  it('two instances scanning at once escalate each notification once, and each goes out once', async () => {
    const USERS = 12;
    const EACH = 5;
    const users: string[] = (
      await a.db.query(
        `INSERT INTO users (email, password_hash, role, created_at)
         SELECT 'race' || i || '@example.com', 'x', 'user', now() - interval '1 minute' FROM generate_series(1, $1) i
         RETURNING id::text`,
        [USERS],
      )
    ).rows.map((r: { id: string }) => r.id);
    const [sa, sb] = [a.app.get(EscalationScanner), b.app.get(EscalationScanner)];
    const before = sa.escalated + sb.escalated;
    // Both instances' timers scan; on top of that, four scans at a time race them until the end.
    let racing = true;
    const results: ScanResult[] = [];
    const race = (async () => {
      while (racing) {
        results.push(...(await Promise.all([sa.scan(), sb.scan(), sa.scan(), sb.scan()])));
        await sleep(20);
      }
    })();
    try {
      const rows = await Promise.all(
        users.flatMap((u, i) =>
          Array.from({ length: EACH }, (_, k) => publishTo(k % 2 === 0 ? a : b, u, { title: `race ${i}.${k}` })),
        ),
      );
      await until(
        'every delivery sent',
        async () =>
          (await a.db.query(`SELECT status FROM deliveries WHERE user_id = ANY ($1::bigint[])`, [users])).rows.map(
            (r: { status: string }) => r.status,
          ),
        (s) => s.length === USERS * EACH && s.every((x) => x === 'sent'),
      );
      racing = false;
      await race;
      // The scans really collided (SKIP LOCKED turned some away), and still each notification was escalated once.
      expect(results.some((r) => r.busy)).toBe(true);
      expect(sa.escalated + sb.escalated - before).toBe(USERS * EACH);
      // Each notification in exactly one email, to its own user.
      for (const [i, u] of users.entries()) {
        const mine = rows.filter((r) => String(r.user_id) === u).map((r) => String(r.id));
        expect(emailedIds(`race${i + 1}@example.com`).sort()).toStrictEqual(mine.sort());
      }
      const [{ last_id }] = (await a.db.query(`SELECT last_id::text FROM escalation_cursor`)).rows;
      expect(last_id).toBe(String(Math.max(...rows.map((r) => Number(r.id)))));
      expect(await escalateJobs()).toBe(0);
    } finally {
      racing = false;
      await race;
    }
  });

  it('a scanner that dies holding the cursor holds up the others only until its session ends', async () => {
    const { id } = await signedIn(a, 'cursor-stall@example.com');
    const holder = new pg.Client({ connectionString: db.url });
    holder.on('error', () => {}); // its own termination, below
    await holder.connect();
    try {
      const [{ pid }] = (await holder.query('SELECT pg_backend_pid() AS pid')).rows;
      await holder.query('BEGIN');
      await holder.query('SELECT last_id FROM escalation_cursor FOR UPDATE');
      const row = await publishTo(a, id, { title: 'Held up' });
      expect(await a.app.get(EscalationScanner).scan()).toStrictEqual({ busy: true, escalated: 0, nextInMs: null });
      await sleep(DELAY * 4);
      expect(await deliveriesOf(String(row.id))).toStrictEqual([]);
      // The holder "crashes": Postgres ends its session and rolls its transaction back.
      await a.db.query('SELECT pg_terminate_backend($1)', [pid]);
      await smtp.waitFor(1, 'cursor-stall@example.com');
      expect(
        await until(
          'sent',
          () => deliveriesOf(String(row.id)),
          (d) => d[0]?.status === 'sent',
        ),
      ).toStrictEqual([{ method: 'email', status: 'sent' }]);
    } finally {
      await holder.end().catch(() => {});
    }
  });

  it('keeps scanning after its queries failed for a while (the database away)', async () => {
    const { id } = await signedIn(a, 'cursor-outage@example.com');
    await a.db.query('ALTER TABLE escalation_cursor RENAME TO escalation_cursor_away');
    let row;
    try {
      row = await publishTo(a, id, { title: 'Through an outage' });
      await sleep(DELAY * 4);
      expect(await deliveriesOf(String(row.id))).toStrictEqual([]);
    } finally {
      await a.db.query('ALTER TABLE escalation_cursor_away RENAME TO escalation_cursor');
    }
    await smtp.waitFor(1, 'cursor-outage@example.com');
    expect(emailedIds('cursor-outage@example.com')).toStrictEqual([String(row.id)]);
  });

  it('reads past the cursor by the primary key, and passes over broadcasts', async () => {
    // A table of some size, so that the planner chooses as it would in production.
    await a.db.query(
      `INSERT INTO notifications (user_id, channel, type, severity, title, body, data, audience_kind, audience_user_ids)
       SELECT NULL, 'system', 'system.broadcast', 'info', 'b' || i, 'x', '{}', 'users', '{}' FROM generate_series(1, 20000) i`,
    );
    await a.db.query('ANALYZE notifications');
    await a.db.query('ANALYZE escalation_cursor');
    const plan = async (sql: string, params: unknown[]) =>
      (await a.db.query(`EXPLAIN ${sql}`, params)).rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
    for (const p of [await plan(SCAN_SQL.peek, [DELAY]), await plan(SCAN_SQL.page, [DELAY, SCAN_PAGE, '10s'])]) {
      expect(p).toMatch(/Index Scan using notifications_\w*pkey on notifications\w* n/);
      expect(p).not.toMatch(/Seq Scan on notifications/);
    }
    // Broadcasts need no escalation here (one with "deliver" has a job of its own): the cursor just passes them.
    const cursorAtEnd = async () =>
      (await a.db.query(`SELECT last_id = (SELECT max(id) FROM notifications) AS done FROM escalation_cursor`)).rows[0]
        .done as boolean;
    await until('the cursor past the broadcasts', cursorAtEnd, (done) => done);
  });
});
