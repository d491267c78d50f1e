import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, type TestApp } from './support/app.js';
import { adminClient } from './support/shop.js';
import { TestSmtpServer } from './support/smtp.js';

/*
 * A broadcast with "deliver": ["email"] to many users without an open stream: a batch
 * job over keyset pages, not one timer per user. Prints how long until the test SMTP
 * server had every message; each user gets exactly one. The suite runs 2,000 users (two
 * pages and more); BROADCAST_USERS=10000 measures the figure (docs/delivery.md).
 */
const USERS = Number(process.env.BROADCAST_USERS ?? 2000);
let t: TestApp;
let smtp: TestSmtpServer;

beforeAll(async () => {
  smtp = new TestSmtpServer();
  await smtp.start();
  t = await startTestApp({ ESCALATE_AFTER_MS: '500', SMTP_URL: smtp.url });
});
afterAll(async () => {
  await t?.close();
  await smtp?.close();
});

describe('a 10,000-user broadcast with deliver', () => {
  it('reaches every user once by email, in bounded time', async () => {
    const ids: string[] = (
      await t.db.query(
        `INSERT INTO users (email, password_hash, role, created_at)
         SELECT 'bulk' || i || '@example.com', 'x', 'user', now() - interval '1 minute' FROM generate_series(1, $1) i
         RETURNING id::text`,
        [USERS],
      )
    ).rows.map((r: { id: string }) => r.id);
    const admin = await adminClient(t);
    const started = Date.now();
    const res = await admin.post('/admin/broadcasts', {
      title: 'Big news',
      body: 'For everyone.',
      audience: { userIds: ids },
      deliver: ['email'],
    });
    expect(res.status).toBe(201);
    const progress = setInterval(
      () => console.log(`# ${smtp.received.length} emails after ${Date.now() - started} ms`),
      15_000,
    );
    try {
      await smtp.waitFor(USERS, undefined, 1_500_000);
    } finally {
      clearInterval(progress);
    }
    const seconds = (Date.now() - started) / 1000;
    console.log(
      `# ${USERS}-user broadcast with deliver: all ${USERS} emails at the SMTP server ${seconds.toFixed(1)} s after the POST ` +
        `(ESCALATE_AFTER_MS=500; ${Math.round(USERS / seconds)} emails/s; shared 2-core machine)`,
    );
    const perUser = new Map<string, number>();
    for (const m of smtp.received) perUser.set(m.to, (perUser.get(m.to) ?? 0) + 1);
    expect(perUser.size).toBe(USERS);
    expect([...perUser.values()].every((n) => n === 1)).toBe(true);
    const statuses = (
      await t.db.query(`SELECT status, count(*)::int AS n FROM deliveries WHERE notification_id = $1 GROUP BY status`, [
        res.body.id,
      ])
    ).rows;
    expect(statuses).toStrictEqual([{ status: 'sent', n: USERS }]);
  }, 1_800_000);
});
