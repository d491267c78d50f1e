import { describe, expect, it } from '@jest/globals';
import { freshDatabase, startTestApp, type TestApp, sharedTestApp } from './support/app.js';
import { Client } from './support/http.js';
import { publishTo } from './support/publish.js';
import { liveStream, signedIn } from './support/shop.js';
import { until } from './support/until.js';
import { SenderService } from '../src/delivery/sender.service.js';
import pg from 'pg';

const inAnHour = () => new Date(Date.now() + 3600_000).toISOString();

/** The API refuses snoozes under a minute: the tests move the due time in the table instead. */
async function dueIn(t: { db: { query: TestApp['db']['query'] } }, notificationId: string, seconds: number) {
  await t.db.query(
    `UPDATE notification_states SET snoozed_until = now() + make_interval(secs => $2) WHERE notification_id = $1`,
    [notificationId, seconds],
  );
}

describe('snooze wake-ups', () => {
  const t = sharedTestApp({ ESCALATE_AFTER_MS: '1000' });

  it('bring it back unread, and every tab of the user gets event: unsnoozed with the cursor as id', async () => {
    const u = await signedIn(t, 'wake-tabs@example.com');
    const other = await signedIn(t, 'wake-tabs-other@example.com');
    const n = await publishTo(t, u.id);
    const id = String(n.id);
    expect((await u.client.post(`/notifications/${id}/read`)).status).toBe(204);
    const tabs = [await liveStream(t, u.client), await liveStream(t, u.client)];
    const stranger = await liveStream(t, other.client);
    try {
      expect((await u.client.post(`/notifications/${id}/snooze`, { until: inAnHour() })).status).toBe(204);
      expect((await u.client.get('/notifications')).body.items).toStrictEqual([]);
      await dueIn(t, id, 0);
      for (const tab of tabs) {
        const e = await tab.waitForEvent('unsnoozed', 15_000);
        expect(e.id).toBe(tab.events.find((x) => x.event === 'ready')!.id);
        expect(JSON.parse(e.data)).toStrictEqual({ ids: [id] });
      }
      const back = (await u.client.get('/notifications')).body.items;
      expect(back.map((x: { id: string }) => x.id)).toStrictEqual([id]);
      expect(back[0]).toMatchObject({ readAt: null, snoozedUntil: null });
      expect((await u.client.get('/notifications/unread-count')).body.total).toBe(1);
      expect(stranger.events.some((e) => e.event === 'unsnoozed')).toBe(false);
    } finally {
      for (const s of [...tabs, stranger]) s.close();
    }
  });

  it('a snoozed notification goes out by no method while asleep, and escalates as new once it wakes', async () => {
    const u = await signedIn(t, 'wake-escalate@example.com');
    const n = await publishTo(t, u.id);
    const id = String(n.id);
    expect((await u.client.post(`/notifications/${id}/snooze`, { until: inAnHour() })).status).toBe(204);
    // The escalation's cursor passes it (it was due ESCALATE_AFTER_MS after its commit) ...
    await until(
      'the escalation cursor past it',
      async () => (await t.db.query(`SELECT last_id::text FROM escalation_cursor`)).rows[0].last_id as string,
      (last) => BigInt(last) >= BigInt(id),
    );
    // ... and planned nothing: asleep.
    const before = await t.db.query(`SELECT * FROM deliveries WHERE notification_id = $1`, [id]);
    expect(before.rows).toStrictEqual([]);
    const wokeAt = Date.now();
    await dueIn(t, id, 0);
    const sent = await until(
      'the email after the wake-up',
      async () =>
        (
          await t.db.query(
            `SELECT method, status, sent_at FROM deliveries WHERE notification_id = $1 AND user_id = $2`,
            [id, u.id],
          )
        ).rows as Array<{ method: string; status: string; sent_at: Date | null }>,
      (rows) => rows.some((r) => r.status === 'sent'),
    );
    expect(sent.map((r) => [r.method, r.status])).toStrictEqual([['email', 'sent']]);
    // As if new: it waited the escalation delay from the wake-up.
    expect(sent[0].sent_at!.getTime() - wokeAt).toBeGreaterThanOrEqual(1000);
  });

  it('a scheduled send that a snooze overtakes is cancelled as snoozed', async () => {
    const u = await signedIn(t, 'wake-cancel@example.com');
    const n = await publishTo(t, u.id);
    const id = String(n.id);
    // Planned by hand as the escalation would have, due now; then the user snoozes it.
    await t.db.query(
      `INSERT INTO notification_states (user_id, notification_id, snoozed_until) VALUES ($1, $2, now() + interval '1 hour')`,
      [u.id, id],
    );
    await t.db.query(`UPDATE escalation_cursor SET last_id = GREATEST(last_id, $1)`, [id]);
    await t.db.query(
      `INSERT INTO deliveries (notification_id, user_id, method, status, not_before) VALUES ($1, $2, 'email', 'scheduled', now())`,
      [id, u.id],
    );
    // The send job for it runs (as its queue would run it).
    await t.app.get(SenderService).deliver({ method: 'email', userIds: [u.id] });
    const cancelled = (await t.db.query(`SELECT status, error FROM deliveries WHERE notification_id = $1`, [id])).rows;
    expect(cancelled).toStrictEqual([{ status: 'cancelled', error: 'snoozed' }]);
  });
});

describe('snooze across a restart', () => {
  it('a wake-up due while the service was down, and one due after, both fire on the next start', async () => {
    const db = await freshDatabase();
    let app: TestApp | null = await startTestApp({}, db);
    try {
      const u = await signedIn(app, 'wake-restart@example.com');
      const [a, b] = [String((await publishTo(app, u.id)).id), String((await publishTo(app, u.id)).id)];
      for (const id of [a, b]) {
        expect((await u.client.post(`/notifications/${id}/snooze`, { until: inAnHour() })).status).toBe(204);
      }
      await app.close();
      app = null;
      // While it is down, a's time comes.
      const pool = new pg.Pool({ connectionString: db.url, max: 1 });
      await dueIn({ db: pool }, a, -1);
      await pool.end();

      app = await startTestApp({}, db);
      const c = new Client(app.baseUrl);
      expect((await c.login('wake-restart@example.com')).status).toBe(200);
      const list = async () => (await c.get('/notifications')).body.items.map((x: { id: string }) => x.id) as string[];
      expect(await until('a back after the restart', list, (ids) => ids.includes(a), 20_000)).toStrictEqual([a]);
      const tab = await liveStream(app, c);
      await dueIn(app, b, 2);
      const e = await tab.waitForEvent('unsnoozed', 20_000);
      tab.close();
      expect(JSON.parse(e.data)).toStrictEqual({ ids: [b] });
      expect(await list()).toStrictEqual([b, a]);
    } finally {
      await app?.close();
      await db.drop();
    }
  });
});
