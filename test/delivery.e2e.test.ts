import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { TestApp } from './support/app.js';
import { startDeliveryApp } from './support/delivery-app.js';
import { publishTo } from './support/publish.js';
import type { TestPushService } from './support/push-service.js';
import { adminClient, signedIn } from './support/shop.js';
import type { TestSmtpServer } from './support/smtp.js';
import { openStream } from './support/sse.js';
import { StreamMarks } from '../src/delivery/stream-marks.js';
import { DEFAULT_DELIVERY } from './support/registry.js';
import { until } from './support/until.js';

/*
 * Escalation end to end, with a real SMTP server and a push service of the tests'
 * own (HTTPS, VAPID checked, payload decrypted). ESCALATE_AFTER_MS is short;
 * "nothing was sent" is awaited as the delivery log's final state, never a sleep.
 */
const DELAY = 600;
let t: TestApp;
let smtp: TestSmtpServer;
let push: TestPushService;
const PUBLIC_URL = 'https://notify.example.test';

beforeAll(async () => {
  ({ t, smtp, push } = await startDeliveryApp(
    { ESCALATE_AFTER_MS: String(DELAY), PUBLIC_URL, MAIL_FROM: 'Shop Notifications <notify@shop.example>' },
    ['*.push.apple.com'],
  ));
});
afterAll(async () => {
  await t?.close();
  await smtp?.close();
  await push?.close();
});

interface DeliveryRow {
  method: string;
  status: string;
  attempts: number;
  error: string | null;
}

const deliveriesOf = async (notificationId: string): Promise<DeliveryRow[]> =>
  (
    await t.db.query(
      `SELECT method, status, attempts, error FROM deliveries WHERE notification_id = $1 ORDER BY method`,
      [notificationId],
    )
  ).rows;

const marksOf = async (notificationId: string): Promise<number> =>
  (
    await t.db.query(`SELECT count(*)::int AS n FROM notification_streamed WHERE notification_id = $1`, [
      notificationId,
    ])
  ).rows[0].n;

const settled = (rows: DeliveryRow[]) =>
  rows.length > 0 && rows.every((r) => !['scheduled', 'sending'].includes(r.status));

describe('email', () => {
  it('an unseen notification arrives as an email with both bodies, the inbox link and one-click unsubscribe', async () => {
    const { client: c, id } = await signedIn(t, 'mail-one@example.com');
    const committed = Date.now();
    const row = await publishTo(t, id, {
      type: 'order.shipped',
      title: 'Order #1001 shipped',
      body: 'It is <on> its way.',
    });
    const [m] = await smtp.waitFor(1, 'mail-one@example.com');
    console.log(`# commit to email at ESCALATE_AFTER_MS=${DELAY}: ${Date.now() - committed} ms`);
    expect(m.mail.subject).toBe('Order #1001 shipped');
    expect(m.mail.from?.text).toBe('"Shop Notifications" <notify@shop.example>');
    expect(m.mail.text).toContain('It is <on> its way.');
    expect(m.mail.text).toContain(`${PUBLIC_URL}/`);
    expect(m.mail.html).toContain('It is &lt;on&gt; its way.');
    expect(m.mail.html).toContain(`href="${PUBLIC_URL}/"`);
    // The raw header (mailparser would parse it into an object).
    const listUnsubscribe = m.mail.headerLines.find((h) => h.key === 'list-unsubscribe')?.line ?? '';
    const url = /<([^>]+)>/.exec(listUnsubscribe)?.[1] ?? '';
    expect(url.startsWith(`${PUBLIC_URL}/unsubscribe?token=`)).toBe(true);
    expect(m.mail.headerLines.find((h) => h.key === 'list-unsubscribe-post')?.line).toBe(
      'List-Unsubscribe-Post: List-Unsubscribe=One-Click',
    );

    const log = await until('sent', () => deliveriesOf(String(row.id)), settled);
    expect(log).toStrictEqual([{ method: 'email', status: 'sent', attempts: 1, error: null }]);
    const mine = await c.get(`/notifications/${row.id}/deliveries`);
    expect(mine.status).toBe(200);
    expect(mine.body).toHaveLength(1);
    expect(mine.body[0]).toMatchObject({ method: 'email', status: 'sent', attempts: 1, error: null });
    expect(typeof mine.body[0].sentAt).toBe('string');

    // One-click unsubscribe: a bare POST, no cookie, no CSRF token, as a mail provider sends it.
    const path = url.slice(PUBLIC_URL.length);
    const res = await fetch(t.baseUrl + path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(res.status).toBe(200);
    const prefs = await c.get('/preferences');
    expect(prefs.body.delivery.order).toStrictEqual({ ...DEFAULT_DELIVERY.order, email: false });
    expect(prefs.body.delivery.payment).toStrictEqual(DEFAULT_DELIVERY.payment);
    // A tampered token does nothing.
    const forged = await fetch(t.baseUrl + path.replace(/.$/, (ch) => (ch === 'A' ? 'B' : 'A')), { method: 'POST' });
    expect(forged.status).toBe(400);
  });

  it('several due notifications become one digest', async () => {
    const { id } = await signedIn(t, 'mail-digest@example.com');
    await publishTo(t, id, { title: 'First' });
    await publishTo(t, id, { channel: 'payment', type: 'payment.pending', title: 'Second' });
    await publishTo(t, id, { title: 'Third' });
    const [m] = await smtp.waitFor(1, 'mail-digest@example.com');
    expect(m.mail.subject).toBe('3 new notifications');
    for (const title of ['First', 'Second', 'Third']) {
      expect(m.mail.text).toContain(title);
      expect(m.mail.html).toContain(title);
    }
    await until(
      'digest recorded',
      async () => (await t.db.query(`SELECT status FROM deliveries WHERE user_id = $1`, [id])).rows,
      (r) => r.length === 3 && r.every((x: { status: string }) => x.status === 'sent'),
    );
    const rows = (await t.db.query(`SELECT status FROM deliveries WHERE user_id = $1 AND method = 'email'`, [id]))
      .rows as Array<{ status: string }>;
    expect(rows.map((r) => r.status)).toStrictEqual(['sent', 'sent', 'sent']);
    expect(smtp.to('mail-digest@example.com')).toHaveLength(1);
  });

  it('retries when the SMTP server answers 4xx, then sends once', async () => {
    const { id } = await signedIn(t, 'mail-retry@example.com');
    smtp.failNext(2, 451, 'mail-retry@example.com');
    const row = await publishTo(t, id, { title: 'Retry me' });
    const log = await until('sent after retries', () => deliveriesOf(String(row.id)), settled);
    expect(log).toStrictEqual([{ method: 'email', status: 'sent', attempts: 3, error: expect.stringMatching(/451/) }]);
    expect(smtp.to('mail-retry@example.com')).toHaveLength(1);
  });

  it('sends nothing when the user read it in time', async () => {
    const { client: c, id } = await signedIn(t, 'mail-read@example.com');
    const row = await publishTo(t, id, { title: 'Read quickly' });
    expect((await c.post(`/notifications/${row.id}/read`)).status).toBe(204);
    const log = await until('cancelled', () => deliveriesOf(String(row.id)), settled);
    expect(log).toStrictEqual([{ method: 'email', status: 'cancelled', attempts: 0, error: 'read in time' }]);
    expect(smtp.to('mail-read@example.com')).toHaveLength(0);
  });

  it('sends nothing when it was written to an open stream', async () => {
    const { client: c, id } = await signedIn(t, 'mail-live@example.com');
    const s = await openStream(t.baseUrl, c.cookieHeader);
    try {
      await s.waitForEvent('ready');
      const row = await publishTo(t, id, { title: 'Seen live' });
      await s.waitForNotifications(1);
      const log = await until('cancelled', () => deliveriesOf(String(row.id)), settled);
      expect(log).toStrictEqual([
        { method: 'email', status: 'cancelled', attempts: 0, error: 'seen live on an open stream' },
      ]);
      expect(smtp.to('mail-live@example.com')).toHaveLength(0);
    } finally {
      s.close();
    }
  });

  it('sends nothing when a tab opened in time replayed it', async () => {
    const { client: c, id } = await signedIn(t, 'mail-replay@example.com');
    const row = await publishTo(t, id, { title: 'Replayed' });
    const s = await openStream(t.baseUrl, c.cookieHeader, { lastEventId: '0' });
    try {
      await s.waitForNotifications(1);
      const log = await until('cancelled', () => deliveriesOf(String(row.id)), settled);
      expect(log).toStrictEqual([
        { method: 'email', status: 'cancelled', attempts: 0, error: 'seen live on an open stream' },
      ]);
    } finally {
      s.close();
    }
  });
});

describe('web push', () => {
  it('sends the notification JSON, encrypted and VAPID-signed, with Urgency high for critical', async () => {
    const { client: c, id } = await signedIn(t, 'push-one@example.com');
    const sub = push.subscription();
    expect((await c.post('/push/subscriptions', { endpoint: sub.endpoint, keys: sub.keys })).status).toBe(201);
    await c.put('/preferences', { delivery: { payment: { email: false } } });
    const committed = Date.now();
    const row = await publishTo(t, id, {
      channel: 'payment',
      type: 'payment.failed',
      severity: 'critical',
      title: 'Payment failed',
      body: 'Card declined',
      data: { orderId: '7' },
    });
    const [p] = await push.waitFor(1, (x) => x.endpoint === sub.endpoint);
    console.log(`# commit to push at ESCALATE_AFTER_MS=${DELAY}: ${Date.now() - committed} ms`);
    expect(p.payload).toStrictEqual({
      id: String(row.id),
      channel: 'payment',
      type: 'payment.failed',
      severity: 'critical',
      title: 'Payment failed',
      body: 'Card declined',
      data: { orderId: '7' },
      createdAt: row.created_at.toISOString(),
      readAt: null,
      seenAt: null,
      archivedAt: null,
      snoozedUntil: null,
      actions: [],
    });
    expect(p.headers.urgency).toBe('high');
    expect(Number(p.headers.ttl)).toBeGreaterThan(0);
    expect(push.rejected).toStrictEqual([]);
    const log = await until('sent', () => deliveriesOf(String(row.id)), settled);
    expect(log).toStrictEqual([{ method: 'push', status: 'sent', attempts: 1, error: null }]);
    expect(smtp.to('push-one@example.com')).toHaveLength(0);
  });

  it('a 410 removes the subscription; 429 and 5xx are retried', async () => {
    const gone = await signedIn(t, 'push-gone@example.com');
    const subGone = push.subscription();
    await gone.client.post('/push/subscriptions', { endpoint: subGone.endpoint, keys: subGone.keys });
    await gone.client.put('/preferences', { delivery: { order: { email: false } } });
    push.script(subGone.endpoint, [410]);
    const r1 = await publishTo(t, gone.id, { title: 'Nobody home' });
    const log1 = await until('failed', () => deliveriesOf(String(r1.id)), settled);
    expect(log1).toStrictEqual([
      { method: 'push', status: 'failed', attempts: 1, error: 'push service answered 410: subscription removed' },
    ]);
    expect((await t.db.query(`SELECT 1 FROM push_subscriptions WHERE user_id = $1`, [gone.id])).rowCount).toBe(0);

    const flaky = await signedIn(t, 'push-flaky@example.com');
    const sub = push.subscription();
    await flaky.client.post('/push/subscriptions', { endpoint: sub.endpoint, keys: sub.keys });
    await flaky.client.put('/preferences', { delivery: { order: { email: false } } });
    push.script(sub.endpoint, [429, 503]);
    const r2 = await publishTo(t, flaky.id, { title: 'Eventually' });
    const log2 = await until('sent', () => deliveriesOf(String(r2.id)), settled);
    expect(log2).toStrictEqual([{ method: 'push', status: 'sent', attempts: 3, error: expect.stringMatching(/503/) }]);
    expect(push.received.filter((p) => p.endpoint === sub.endpoint).map((p) => p.status)).toStrictEqual([
      429, 503, 201,
    ]);
  });
});

describe('rules', () => {
  it('a muted channel sends nothing, except critical', async () => {
    const { client: c, id } = await signedIn(t, 'rules-mute@example.com');
    await c.put('/preferences', { channels: { order: false } });
    const quiet = await publishTo(t, id, { title: 'Muted info' });
    const loud = await publishTo(t, id, { title: 'Muted but critical', severity: 'critical' });
    const [m] = await smtp.waitFor(1, 'rules-mute@example.com');
    expect(m.mail.subject).toBe('Muted but critical');
    await until('critical sent', () => deliveriesOf(String(loud.id)), settled);
    expect(await deliveriesOf(String(quiet.id))).toStrictEqual([]);
  });

  it('quiet hours hold email until they end, except critical', async () => {
    const { client: c, id } = await signedIn(t, 'rules-quiet@example.com');
    // A window around the current UTC time, so that "now" is inside it.
    const now = new Date();
    const hh = (d: Date) => `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
    const start = hh(new Date(now.getTime() - 3600_000));
    const end = hh(new Date(now.getTime() + 2 * 3600_000));
    await c.put('/preferences', { quietHours: { start, end, timeZone: 'UTC' } });
    const held = await publishTo(t, id, { title: 'Can wait' });
    const urgent = await publishTo(t, id, { title: 'Cannot wait', severity: 'critical' });
    const [m] = await smtp.waitFor(1, 'rules-quiet@example.com');
    expect(m.mail.subject).toBe('Cannot wait');
    await until('critical sent', () => deliveriesOf(String(urgent.id)), settled);
    const [row] = (await t.db.query(`SELECT status, not_before FROM deliveries WHERE notification_id = $1`, [held.id]))
      .rows as Array<{ status: string; not_before: Date }>;
    expect(row.status).toBe('scheduled');
    const expectedEnd = new Date(now.getTime() + 2 * 3600_000);
    expectedEnd.setUTCSeconds(0, 0);
    expect(row.not_before.toISOString()).toBe(expectedEnd.toISOString());
  });
});

describe('broadcasts', () => {
  it('with deliver go by email to audience members without an open stream, and an unknown method is a 400 storing nothing', async () => {
    const admin = await adminClient(t);
    const a = await signedIn(t, 'bc-away@example.com');
    const b = await signedIn(t, 'bc-here@example.com');
    const before = Number((await t.db.query(`SELECT count(*) FROM notifications`)).rows[0].count);
    const bad = await admin.post('/admin/broadcasts', { title: 'x', body: 'y', deliver: ['email', 'fax'] });
    expect(bad.status).toBe(400);
    expect(Number((await t.db.query(`SELECT count(*) FROM notifications`)).rows[0].count)).toBe(before);
    const s = await openStream(t.baseUrl, b.client.cookieHeader);
    try {
      await s.waitForEvent('ready');
      const sent = await admin.post('/admin/broadcasts', {
        title: 'Maintenance tonight',
        body: 'Checkout pauses at 02:00.',
        audience: { userIds: [a.id, b.id] },
        deliver: ['email'],
      });
      expect(sent.status).toBe(201);
      await s.waitForNotifications(1);
      const [m] = await smtp.waitFor(1, 'bc-away@example.com');
      expect(m.mail.subject).toBe('Maintenance tonight');
      const log = await until(
        'both settled',
        async () =>
          (
            await t.db.query(
              `SELECT user_id::text, status FROM deliveries WHERE notification_id = $1 ORDER BY deliveries.user_id`,
              [sent.body.id],
            )
          ).rows as Array<{ user_id: string; status: string }>,
        (rows) => rows.length === 2 && rows.every((r) => r.status !== 'scheduled' && r.status !== 'sending'),
      );
      expect(log).toStrictEqual([
        { user_id: a.id, status: 'sent' },
        { user_id: b.id, status: 'cancelled' },
      ]);
      expect(smtp.to('bc-here@example.com')).toHaveLength(0);
      // Its last (here: only) audience page done, the broadcast's marks have served their purpose.
      await until(
        'the escalation job completed',
        async () =>
          (
            await t.db.query(
              `SELECT state FROM pgboss.job WHERE name = 'escalate-broadcast' AND data->>'notificationId' = $1`,
              [sent.body.id],
            )
          ).rows as Array<{ state: string }>,
        (jobs) => jobs.length > 0 && jobs.every((j) => j.state === 'completed'),
      );
      expect(await marksOf(sent.body.id)).toBe(0);
    } finally {
      s.close();
    }
  });

  it('without deliver, written to open streams (live and replayed) leaves no stream marks', async () => {
    const admin = await adminClient(t);
    const users = [await signedIn(t, 'bc-marks-1@example.com'), await signedIn(t, 'bc-marks-2@example.com')];
    const late = await signedIn(t, 'bc-marks-late@example.com');
    const streams = await Promise.all(users.map((u) => openStream(t.baseUrl, u.client.cookieHeader)));
    try {
      const [ready] = await Promise.all(streams.map((s) => s.waitForEvent('ready')));
      const sent = await admin.post('/admin/broadcasts', { title: 'In-app only', body: 'Nothing to escalate.' });
      expect(sent.status).toBe(201);
      await Promise.all(streams.map((s) => s.waitForNotifications(1)));
      // A tab opened afterwards from an older position gets it by replay.
      const replayed = await openStream(t.baseUrl, late.client.cookieHeader, { lastEventId: ready.id });
      streams.push(replayed);
      await replayed.waitForNotifications(1);
      expect(replayed.notifications.map((e) => e.id)).toStrictEqual([sent.body.id]);
      // A mark would have been queued before the writes the clients just read: flush it, if any.
      await t.app.get(StreamMarks).flush();
      expect(await marksOf(sent.body.id)).toBe(0);
    } finally {
      for (const s of streams) s.close();
    }
  });
});

describe('bad input and visibility', () => {
  it('refuses endpoints off the allowlist and malformed keys with 400, storing nothing', async () => {
    const { client: c, id } = await signedIn(t, 'push-bad@example.com');
    const good = push.subscription();
    const bad: unknown[] = [
      { endpoint: 'http://127.0.0.1:1/push/x', keys: good.keys },
      { endpoint: 'https://127.0.0.2/latest/meta-data', keys: good.keys },
      { endpoint: 'https://evil.example/push.apple.com', keys: good.keys },
      { endpoint: 'https://push.apple.com.evil.example/x', keys: good.keys },
      { endpoint: 'https://web.push.apple.com:8443/x', keys: good.keys },
      { endpoint: 'not a url', keys: good.keys },
      { endpoint: good.endpoint, keys: { p256dh: 'AAAA', auth: good.keys.auth } },
      { endpoint: good.endpoint, keys: { p256dh: good.keys.p256dh, auth: 'short' } },
      { endpoint: good.endpoint, keys: { p256dh: good.keys.p256dh } },
      { endpoint: good.endpoint },
    ];
    for (const body of bad) {
      const res = await c.post('/push/subscriptions', body);
      expect([res.status, body]).toStrictEqual([400, body]);
    }
    expect((await t.db.query(`SELECT 1 FROM push_subscriptions WHERE user_id = $1`, [id])).rowCount).toBe(0);
    // The Apple pattern accepts a host under it on the default port.
    const apple = await c.post('/push/subscriptions', { endpoint: 'https://web.push.apple.com/QGx', keys: good.keys });
    expect(apple.status).toBe(201);
    expect(
      (await c.request('DELETE', '/push/subscriptions', { endpoint: 'https://web.push.apple.com/QGx' })).status,
    ).toBe(204);
    expect((await t.db.query(`SELECT 1 FROM push_subscriptions WHERE user_id = $1`, [id])).rowCount).toBe(0);
  });

  it('keeps the 10 newest browsers of a user: an 11th subscription replaces the oldest', async () => {
    const { client: c, id } = await signedIn(t, 'push-many@example.com');
    const keys = push.subscription().keys;
    const endpoints = Array.from({ length: 12 }, (_, i) => `https://web.push.apple.com/many-${i}`);
    const subscribe = async (endpoint: string) =>
      expect((await c.post('/push/subscriptions', { endpoint, keys })).status).toBe(201);
    for (const endpoint of endpoints.slice(0, 10)) await subscribe(endpoint);
    // Subscribing again refreshes a browser: it becomes the newest.
    await subscribe(endpoints[0]);
    await subscribe(endpoints[10]);
    await subscribe(endpoints[11]);
    const kept = await t.db.query(`SELECT endpoint FROM push_subscriptions WHERE user_id = $1 ORDER BY endpoint`, [id]);
    expect(kept.rows.map((r: { endpoint: string }) => r.endpoint)).toStrictEqual(
      [endpoints[0], ...endpoints.slice(3)].sort(),
    );
  });

  it("cannot take over another user's browser: re-binding an endpoint needs its auth secret (issue 19, finding 5)", async () => {
    const victim = await signedIn(t, 'push-victim@example.com');
    const attacker = await signedIn(t, 'push-attacker@example.com');
    const sub = push.subscription();
    expect((await victim.client.post('/push/subscriptions', { endpoint: sub.endpoint, keys: sub.keys })).status).toBe(
      201,
    );
    // The endpoint alone (it is in logs, proxies, a leaked backup) with keys of the attacker's own.
    const own = push.subscription().keys;
    const taken = await attacker.client.post('/push/subscriptions', { endpoint: sub.endpoint, keys: own });
    expect(taken.status).toBe(409);
    // The attacker's own auth secret with the victim's public key changes nothing either.
    const mixed = await attacker.client.post('/push/subscriptions', {
      endpoint: sub.endpoint,
      keys: { p256dh: sub.keys.p256dh, auth: own.auth },
    });
    expect(mixed.status).toBe(409);
    const row = async () =>
      (
        await t.db.query(`SELECT user_id::text, p256dh, auth FROM push_subscriptions WHERE endpoint = $1`, [
          sub.endpoint,
        ])
      ).rows;
    expect(await row()).toStrictEqual([{ user_id: victim.id, p256dh: sub.keys.p256dh, auth: sub.keys.auth }]);
    // Deleting it as the attacker does nothing either; the victim still gets their pushes.
    expect((await attacker.client.request('DELETE', '/push/subscriptions', { endpoint: sub.endpoint })).status).toBe(
      204,
    );
    await publishTo(t, victim.id, { title: 'Still mine' });
    const [p] = await push.waitFor(1, (x) => x.endpoint === sub.endpoint);
    expect(p.payload.title).toBe('Still mine');
    // The same browser (its own auth secret) signing in as someone else moves to them, as before.
    expect((await attacker.client.post('/push/subscriptions', { endpoint: sub.endpoint, keys: sub.keys })).status).toBe(
      201,
    );
    expect((await row())[0].user_id).toBe(attacker.id);
  });

  it("never shows another user's deliveries; admins list failed ones", async () => {
    const owner = await signedIn(t, 'vis-owner@example.com');
    const other = await signedIn(t, 'vis-other@example.com');
    const row = await publishTo(t, owner.id, { title: 'Mine' });
    await smtp.waitFor(1, 'vis-owner@example.com');
    expect((await other.client.get(`/notifications/${row.id}/deliveries`)).status).toBe(404);
    expect((await other.client.get(`/notifications/999999999/deliveries`)).status).toBe(404);
    expect((await other.client.get(`/admin/deliveries?status=failed`)).status).toBe(403);
    const admin = await adminClient(t);
    const failed = await admin.get('/admin/deliveries?status=failed');
    expect(failed.status).toBe(200);
    expect(failed.body.items.every((d: { status: string }) => d.status === 'failed')).toBe(true);
    expect((await admin.get('/admin/deliveries?status=lost')).status).toBe(400);
    // A blank status is no filter: the owner's sent email is among them.
    const all = await admin.get('/admin/deliveries?status=&limit=100');
    expect(all.body.items.some((d: { notificationId: string }) => d.notificationId === row.id)).toBe(true);
    const metrics = await (await fetch(`${t.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/notifications_deliveries\{method="email",status="sent"\} [1-9]/);
  });
});
