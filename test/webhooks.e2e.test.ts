import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import net from 'node:net';
import { Webhook } from 'standardwebhooks';
import { startTestApp, type TestApp } from './support/app.js';
import { TestDnsServer } from './support/dns.js';
import { NotificationActivity } from '../src/notifications/activity.js';
import { WebhookSender } from '../src/webhooks/webhook-sender.js';
import { Client } from './support/http.js';
import { adminClient } from './support/shop.js';
import { broadcast, publishTo } from './support/publish.js';
import { until } from './support/until.js';
import { type ReceivedWebhook, WebhookReceiver } from './support/webhook-receiver.js';

/*
 * Outbound webhooks (issue 22) against real receivers on loopback: HTTPS with the tests' CA, and
 * plain HTTP, both let through by WEBHOOK_URL_ALLOWLIST; every signature is checked with the
 * `standardwebhooks` package. The "forbidden" target is a real listener on a random 127/8
 * address, port 443, reached by a name of the tests' DNS server.
 */
let t: TestApp;
let admin: Client;
let dns: TestDnsServer;
const receivers: WebhookReceiver[] = [];
let forbidden: { server: net.Server; connections: number };
const FORBIDDEN_V4 = `127.${1 + Math.floor(Math.random() * 254)}.${Math.floor(Math.random() * 256)}.${2 + Math.floor(Math.random() * 250)}`;

async function receiver(tls = true): Promise<WebhookReceiver> {
  const r = await new WebhookReceiver(tls).start();
  receivers.push(r);
  return r;
}

/** Receivers are started before the app: their origins go into WEBHOOK_URL_ALLOWLIST. */
const pool: WebhookReceiver[] = [];
const take = () => pool.shift()!;
let plain: WebhookReceiver;

beforeAll(async () => {
  dns = new TestDnsServer();
  await dns.start();
  dns.set('loop.hooks.test', [FORBIDDEN_V4]);
  dns.set('loop6.hooks.test', ['::1']);
  forbidden = { server: net.createServer(), connections: 0 };
  forbidden.server.on('connection', (s) => {
    forbidden.connections++;
    s.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    forbidden.server.once('error', reject);
    forbidden.server.listen(443, FORBIDDEN_V4, resolve);
  });
  for (let i = 0; i < 16; i++) pool.push(await receiver());
  plain = await receiver(false);
  t = await startTestApp({
    WEBHOOK_RETRY_SCHEDULE: '50,50',
    WEBHOOK_URL_ALLOWLIST: [...pool, plain].map((r) => r.origin).join(','),
    OUTBOUND_DNS_SERVER: dns.address,
    ESCALATE_AFTER_MS: '200',
  });
  admin = await adminClient(t);
});
afterAll(async () => {
  await t?.close();
  for (const r of receivers) await r.close();
  await dns?.close();
  await new Promise((r) => forbidden?.server.close(r));
});

async function createHook(url: string, events: string[]): Promise<{ id: string; secret: string }> {
  const res = await admin.post('/admin/webhooks', { url, events });
  expect(res.status).toBe(201);
  return res.body;
}

function verify(
  secret: string,
  got: ReceivedWebhook,
): { type: string; timestamp: string; data: Record<string, unknown> } {
  return new Webhook(secret).verify(got.body, {
    'webhook-id': String(got.headers['webhook-id']),
    'webhook-timestamp': String(got.headers['webhook-timestamp']),
    'webhook-signature': String(got.headers['webhook-signature']),
  }) as { type: string; timestamp: string; data: Record<string, unknown> };
}

async function messages(id: string, status?: string) {
  const res = await admin.get(`/admin/webhooks/${id}/attempts${status ? `?status=${status}` : ''}`);
  expect(res.status).toBe(200);
  return res.body.items as Array<Record<string, unknown>>;
}

describe('admin routes', () => {
  it('create shows the secret once; list, patch and delete; bad input is 400 with nothing stored', async () => {
    const r = take();
    const created = await admin.post('/admin/webhooks', {
      url: `${r.origin}/hook`,
      events: ['notification.created', 'delivery.failed'],
      description: 'CRM',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      url: `${r.origin}/hook`,
      events: ['notification.created', 'delivery.failed'],
      enabled: true,
      description: 'CRM',
    });
    expect(created.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]+={0,2}$/);
    expect(Buffer.from(created.body.secret.slice(6), 'base64').length).toBeGreaterThanOrEqual(24);
    const id = created.body.id as string;

    const list = await admin.get('/admin/webhooks');
    expect(list.status).toBe(200);
    expect(list.text).not.toContain(created.body.secret.slice(6));
    expect(list.body.items.find((w: { id: string }) => w.id === id)).not.toHaveProperty('secret');

    const patched = await admin.request('PATCH', `/admin/webhooks/${id}`, {
      events: ['notification.read'],
      enabled: false,
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ id, events: ['notification.read'], enabled: false });
    expect(patched.body).not.toHaveProperty('secret');

    const before = (await t.db.query(`SELECT count(*)::int AS n FROM webhooks`)).rows[0].n;
    for (const bad of [
      { url: `${r.origin}/x`, events: ['notification.deleted'] },
      { url: `${r.origin}/x`, events: [] },
      { url: `${r.origin}/x`, events: ['notification.read', 'notification.read'] },
      { url: `${r.origin}/x` },
      { url: 42, events: ['notification.read'] },
      { url: `${r.origin}/x`, events: ['notification.read'], secret: 'whsec_mine' },
    ]) {
      const res = await admin.post('/admin/webhooks', bad);
      expect([JSON.stringify(bad), res.status]).toStrictEqual([JSON.stringify(bad), 400]);
    }
    expect((await admin.request('PATCH', `/admin/webhooks/${id}`, { events: ['nope'] })).status).toBe(400);
    expect((await admin.post(`/admin/webhooks/${id}/recover`, { since: 'yesterday' })).status).toBe(400);
    expect((await admin.get(`/admin/webhooks/${id}/attempts?status=lost`)).status).toBe(400);
    // As the contract writes the route, `?status=`: a blank status is no filter.
    expect((await admin.get(`/admin/webhooks/${id}/attempts?status=`)).body).toStrictEqual({ items: [] });
    expect((await t.db.query(`SELECT count(*)::int AS n FROM webhooks`)).rows[0].n).toBe(before);

    expect((await admin.request('DELETE', `/admin/webhooks/${id}`)).status).toBe(204);
    expect((await admin.request('DELETE', `/admin/webhooks/${id}`)).status).toBe(404);
    expect((await admin.request('PATCH', `/admin/webhooks/${id}`, { enabled: true })).status).toBe(404);
    expect((await admin.post(`/admin/webhooks/${id}/rotate-secret`)).status).toBe(404);
    expect((await admin.get(`/admin/webhooks/${id}/attempts`)).status).toBe(404);
  });

  it('are for admins with a CSRF token only', async () => {
    const user = new Client(t.baseUrl);
    await user.signUp('not-admin@example.com');
    expect((await user.get('/admin/webhooks')).status).toBe(403);
    expect(
      (await user.post('/admin/webhooks', { url: 'https://hooks.example.com/', events: ['notification.read'] })).status,
    ).toBe(403);
    expect((await new Client(t.baseUrl).get('/admin/webhooks')).status).toBe(401);
    const noCsrf = await admin.post(
      '/admin/webhooks',
      { url: 'https://hooks.example.com/', events: ['notification.read'] },
      { csrf: false },
    );
    expect(noCsrf.status).toBe(403);
  });
});

describe('SSRF', () => {
  it('refuses at creation what is not https to a public address: 400, nothing stored, nothing dialled', async () => {
    const refused = [
      'http://hooks.example.com/x',
      `https://${FORBIDDEN_V4}/x`,
      'https://127.0.0.1/x',
      'https://[::1]/x',
      'https://2130706433/x',
      'https://user@hooks.example.com/x',
      'https://user:pw@hooks.example.com/x',
      'https://loop.hooks.test/x',
      'https://loop6.hooks.test/x',
      'https://hooks.example.com:8443/x',
      'ftp://hooks.example.com/x',
    ];
    const existing = await createHook('https://hooks.example.com/ok', ['notification.read']);
    for (const url of refused) {
      const res = await admin.request('PATCH', `/admin/webhooks/${existing.id}`, { url });
      expect([url, res.status]).toStrictEqual([url, 400]);
    }
    await admin.request('DELETE', `/admin/webhooks/${existing.id}`);
    for (const url of refused) {
      const res = await admin.post('/admin/webhooks', { url, events: ['notification.created'] });
      expect([url, res.status]).toStrictEqual([url, 400]);
    }
    const rows = await t.db.query(`SELECT url FROM webhooks WHERE url = ANY ($1)`, [refused]);
    expect(rows.rows).toStrictEqual([]);
    expect(forbidden.connections).toBe(0);
    // A public name (that does not resolve here) is accepted; what it resolves to is checked at every attempt.
    const ok = await admin.post('/admin/webhooks', {
      url: 'https://hooks.example.com/x',
      events: ['notification.read'],
    });
    expect(ok.status).toBe(201);
    await admin.request('DELETE', `/admin/webhooks/${ok.body.id}`);
  });

  it('checks again at every attempt: a name that now resolves to loopback is never dialled', async () => {
    dns.set('rebind.hooks.test', []);
    const hook = await createHook('https://rebind.hooks.test/x', ['notification.created']);
    dns.set('rebind.hooks.test', [FORBIDDEN_V4]);
    const u = await new Client(t.baseUrl).signUp('ssrf-attempt@example.com');
    await publishTo(t, u.id, { title: 'to a rebound name' });
    const items = await until(
      'the refused attempt',
      () => messages(hook.id),
      (m) => m.length > 0 && m[0].lastError !== null && m[0].status === 'failed',
    );
    expect(items[0]).toMatchObject({
      status: 'failed',
      attempts: 3,
      lastStatusCode: null,
      lastError: 'refused: private address',
    });
    expect(forbidden.connections).toBe(0);
    await admin.request('DELETE', `/admin/webhooks/${hook.id}`);
  });
});

describe('delivery', () => {
  it('signs per Standard Webhooks; the body is { type, timestamp, data }; only subscribed events', async () => {
    const r = take();
    const hook = await createHook(`${r.origin}/created`, ['notification.created', 'notification.read']);
    const c = new Client(t.baseUrl);
    const u = await c.signUp('signed@example.com');
    const row = await publishTo(t, u.id, { title: 'Signed' });
    const [got] = await r.waitFor(1);
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers['webhook-id']).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(Math.abs(Number(got.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
    expect(String(got.headers['webhook-signature'])).toMatch(/^v1,[A-Za-z0-9+/]+={0,2}$/);
    const body = verify(hook.secret, got);
    expect(body).toStrictEqual({
      type: 'notification.created',
      timestamp: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      data: { notificationIds: [String(row.id)], userIds: [u.id] },
    });
    expect(() => verify('whsec_' + Buffer.alloc(32, 1).toString('base64'), got)).toThrow();

    expect((await c.post(`/notifications/${row.id}/read`)).status).toBeLessThan(300);
    const [read] = await r.waitFor(1, (x) => JSON.parse(x.body).type === 'notification.read');
    expect(verify(hook.secret, read).data).toStrictEqual({ userId: u.id, notificationIds: [String(row.id)] });
    expect((await c.post(`/notifications/read-all`)).status).toBeLessThan(300);
    const all = await r.waitFor(2, (x) => JSON.parse(x.body).type === 'notification.read');
    expect(verify(hook.secret, all[1]).data).toStrictEqual({ userId: u.id, all: true });

    const items = await until(
      'delivered',
      () => messages(hook.id, 'delivered'),
      (m) => m.length === 3,
    );
    expect(items[2]).toMatchObject({
      messageId: got.headers['webhook-id'],
      event: 'notification.created',
      status: 'delivered',
      attempts: 1,
      lastStatusCode: 200,
      nextAttemptAt: null,
    });
  });

  it('a broadcast to everyone is one message; delivery.sent comes from the delivery log', async () => {
    const r = take();
    const hook = await createHook(`${r.origin}/b`, ['notification.created', 'delivery.sent']);
    const u = await new Client(t.baseUrl).signUp('emailed@example.com');
    const b = await broadcast(t, { kind: 'all' }, { title: 'To all' });
    const personal = await publishTo(t, u.id, { title: 'Mailed to you' });
    const mine = (x: ReceivedWebhook) => {
      const body = JSON.parse(x.body) as { type: string; data: { userId?: string } };
      return body.type === 'delivery.sent' && body.data.userId === u.id;
    };
    const [sent] = await r.waitFor(1, mine);
    expect(verify(hook.secret, sent).data).toStrictEqual({
      userId: u.id,
      notificationIds: [String(personal.id)],
      method: 'email',
    });
    const created = r.ofType('notification.created').map((x) => verify(hook.secret, x).data);
    expect(created).toContainEqual({ notificationIds: [String(b.id)], broadcast: true });
    expect(created.filter((d) => (d.notificationIds as string[]).includes(String(b.id)))).toHaveLength(1);
  });

  it('during a rotation both secrets sign; after 24 hours the old one no longer does', async () => {
    const r = take();
    const hook = await createHook(`${r.origin}/rotate`, ['notification.created']);
    const u = await new Client(t.baseUrl).signUp('rotate@example.com');
    const rotated = await admin.post(`/admin/webhooks/${hook.id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(hook.secret);
    await publishTo(t, u.id, { title: 'during' });
    const [during] = await r.waitFor(1);
    expect(String(during.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verify(rotated.body.secret, during).type).toBe('notification.created');
    expect(verify(hook.secret, during).type).toBe('notification.created');

    // 24 hours later, as the row says.
    await t.db.query(`UPDATE webhooks SET previous_until = now() - interval '1 second' WHERE id = $1`, [hook.id]);
    await publishTo(t, u.id, { title: 'after' });
    const [, after] = await r.waitFor(2);
    expect(String(after.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(verify(rotated.body.secret, after).type).toBe('notification.created');
    expect(() => verify(hook.secret, after)).toThrow();
  });

  it('retries on failure with the same webhook-id, honours a longer Retry-After, and logs each attempt', async () => {
    const r = take();
    r.answer(500, { status: 429, headers: { 'retry-after': '1' } }, 200);
    const hook = await createHook(`${r.origin}/retry`, ['notification.created']);
    const u = await new Client(t.baseUrl).signUp('retry@example.com');
    await publishTo(t, u.id, { title: 'retried' });
    const got = await r.waitFor(3);
    expect(new Set(got.map((g) => g.headers['webhook-id'])).size).toBe(1);
    expect(new Set(got.map((g) => g.body)).size).toBe(1);
    for (const g of got) expect(verify(hook.secret, g).type).toBe('notification.created');
    // 50 ms by the schedule, but the receiver asked for a second.
    expect(got[2].at - got[1].at).toBeGreaterThanOrEqual(950);
    const [item] = await until(
      'delivered',
      () => messages(hook.id),
      (m) => m[0]?.status === 'delivered',
    );
    expect(item).toMatchObject({ status: 'delivered', attempts: 3, lastStatusCode: 200 });
    const log = await t.db.query(
      `SELECT a.attempt, a.status_code FROM webhook_attempts a JOIN webhook_messages m ON m.id = a.message_id
        WHERE m.msg_id = $1 ORDER BY a.attempt`,
      [got[0].headers['webhook-id']],
    );
    expect(log.rows).toStrictEqual([
      { attempt: 1, status_code: 500 },
      { attempt: 2, status_code: 429 },
      { attempt: 3, status_code: 200 },
    ]);
  });

  it('fails a message after the schedule; recover sends its failed messages again', async () => {
    const r = take();
    r.fallback = 503;
    const hook = await createHook(`${r.origin}/recover`, ['notification.created']);
    const u = await new Client(t.baseUrl).signUp('recover@example.com');
    const since = new Date(Date.now() - 1000).toISOString();
    await publishTo(t, u.id, { title: 'failing' });
    await r.waitFor(3);
    const [failed] = await until(
      'failed',
      () => messages(hook.id, 'failed'),
      (m) => m.length === 1,
    );
    expect(failed).toMatchObject({ status: 'failed', attempts: 3, lastStatusCode: 503, nextAttemptAt: null });
    expect(await messages(hook.id, 'pending')).toStrictEqual([]);

    r.fallback = 204;
    const recovered = await admin.post(`/admin/webhooks/${hook.id}/recover`, { since });
    expect(recovered.status).toBe(202);
    expect(recovered.body).toStrictEqual({ messages: 1 });
    const got = await r.waitFor(4);
    expect(got[3].headers['webhook-id']).toBe(failed.messageId);
    const [item] = await until(
      'delivered',
      () => messages(hook.id),
      (m) => m[0]?.status === 'delivered',
    );
    expect(item).toMatchObject({ messageId: failed.messageId, lastStatusCode: 204 });
  });

  it('410 Gone disables the webhook: nothing more is queued for it', async () => {
    const gone = take();
    const other = take();
    gone.answer(410);
    const hook = await createHook(`${gone.origin}/gone`, ['notification.created']);
    await createHook(`${other.origin}/other`, ['notification.created']);
    const u = await new Client(t.baseUrl).signUp('gone@example.com');
    await publishTo(t, u.id, { title: 'first' });
    await gone.waitFor(1);
    await until(
      'disabled',
      async () => (await admin.get('/admin/webhooks')).body.items.find((w: { id: string }) => w.id === hook.id),
      (w) => w.enabled === false,
    );
    const [item] = await messages(hook.id);
    expect(item).toMatchObject({ status: 'failed', attempts: 1, lastStatusCode: 410 });
    const listed = (await admin.get('/admin/webhooks')).body.items.find((w: { id: string }) => w.id === hook.id);
    expect(listed.disabledReason).toMatch(/410/);
    await publishTo(t, u.id, { title: 'second' });
    // The other webhook's message was written in the same statement as any for this one.
    await other.waitFor(2);
    expect(await messages(hook.id)).toHaveLength(1);
    expect(gone.received).toHaveLength(1);
  });

  it("a receiver that never answers does not delay another webhook's messages", async () => {
    const dead = take();
    const alive = take();
    dead.fallback = 'hang';
    await createHook(`${dead.origin}/dead`, ['notification.created']);
    const hook = await createHook(`${alive.origin}/alive`, ['notification.created']);
    const u = await new Client(t.baseUrl).signUp('slow@example.com');
    for (let i = 0; i < 20; i++) await publishTo(t, u.id, { title: `n${i}` });
    const got = await alive.waitFor(20);
    expect(got.every((g) => verify(hook.secret, g).type === 'notification.created')).toBe(true);
    // The dead one holds its requests open (at most its own share), none answered yet.
    expect(dead.received.length).toBeGreaterThan(0);
    expect(dead.received.length).toBeLessThanOrEqual(8);
    expect(dead.received.every((d) => d.status === null)).toBe(true);
  });

  it('notification.action (emitted by the inbox) is routed to the webhooks subscribed to it, and only to them', async () => {
    const r = take();
    const hook = await createHook(`${r.origin}/action`, ['notification.action']);
    const u = await new Client(t.baseUrl).signUp('action@example.com');
    const row = await publishTo(t, u.id, { title: 'With a button' });
    t.app.get(NotificationActivity).emit({
      type: 'notification.action',
      userId: u.id,
      notificationId: String(row.id),
      actionId: 'approve',
    });
    const [got] = await r.waitFor(1);
    expect(verify(hook.secret, got)).toMatchObject({
      type: 'notification.action',
      data: { userId: u.id, notificationId: String(row.id), actionId: 'approve' },
    });
    // Its notification.created (committed before) was not for this webhook.
    expect(r.received).toHaveLength(1);
    expect(await messages(hook.id)).toHaveLength(1);
  });

  it('an http receiver is reached when its origin is allow-listed', async () => {
    const hook = await createHook(`${plain.origin}/plain`, ['notification.created']);
    const u = await new Client(t.baseUrl).signUp('plain@example.com');
    await publishTo(t, u.id, { title: 'plain' });
    const [got] = await plain.waitFor(1);
    expect(verify(hook.secret, got).type).toBe('notification.created');
  });

  it('finished messages past RETENTION_DAYS are deleted with their attempts; pending ones stay', async () => {
    // The pending one is made not yet due, so the sender cannot finish it before prune() runs
    // (a message in flight could, and would then rightly be pruned).
    const old = await t.db.query(
      `UPDATE webhook_messages SET created_at = now() - interval '91 days',
              next_attempt_at = CASE WHEN status = 'pending' THEN now() + interval '1 day' ELSE next_attempt_at END
        WHERE id IN (SELECT id FROM webhook_messages WHERE status = 'delivered' LIMIT 2)
           OR (id IN (SELECT id FROM webhook_messages WHERE status = 'pending' LIMIT 1) AND status = 'pending')
        RETURNING id::text, status`,
    );
    const finished = old.rows
      .filter((r: { status: string }) => r.status === 'delivered')
      .map((r: { id: string }) => r.id);
    expect(finished).toHaveLength(2);
    expect(await t.app.get(WebhookSender).prune()).toBe(2);
    const left = await t.db.query(`SELECT id::text FROM webhook_messages WHERE id = ANY ($1::bigint[])`, [
      old.rows.map((r: { id: string }) => r.id),
    ]);
    expect(left.rows).toHaveLength(old.rows.length - 2);
    const attempts = await t.db.query(
      `SELECT count(*)::int AS n FROM webhook_attempts WHERE message_id = ANY ($1::bigint[])`,
      [finished],
    );
    expect(attempts.rows[0].n).toBe(0);
  });

  it('a message claimed by an instance that died mid-send is sent again by the sweep, with its webhook-id', async () => {
    const r = take();
    const hook = await createHook(`${r.origin}/claimed`, ['notification.created']);
    const u = await new Client(t.baseUrl).signUp('claimed@example.com');
    await publishTo(t, u.id, { title: 'claimed' });
    const [first] = await r.waitFor(1);
    await until(
      'delivered',
      () => messages(hook.id, 'delivered'),
      (m) => m.length === 1,
    );
    // As an instance killed between its claim and the answer leaves it.
    await t.db.query(
      `UPDATE webhook_messages SET status = 'sending', claimed_at = now() - interval '2 minutes' WHERE webhook_id = $1`,
      [hook.id],
    );
    await t.app.get(WebhookSender).sweep();
    const [, again] = await r.waitFor(2);
    expect(again.headers['webhook-id']).toBe(first.headers['webhook-id']);
    expect(verify(hook.secret, again).type).toBe('notification.created');
  });

  it("a disabled webhook's pending messages wait without queueing jobs, and go when it is enabled again", async () => {
    const r = take();
    const hook = await createHook(`${r.origin}/paused`, ['notification.read']);
    expect((await admin.request('PATCH', `/admin/webhooks/${hook.id}`, { enabled: false })).status).toBe(200);
    const body = JSON.stringify({
      type: 'notification.read',
      timestamp: new Date().toISOString(),
      data: { userId: '1', all: true },
    });
    await t.db.query(
      `INSERT INTO webhook_messages (webhook_id, msg_id, event, body, status) VALUES ($1, 'msg_paused', 'notification.read', $2, 'pending')`,
      [hook.id, body],
    );
    await t.app.get(WebhookSender).drain(hook.id);
    const jobs = await t.db.query(
      `SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'webhook-deliver' AND state = 'created' AND data->>'webhookId' = $1`,
      [hook.id],
    );
    expect(jobs.rows[0].n).toBe(0);
    expect(r.received).toHaveLength(0);
    expect((await admin.request('PATCH', `/admin/webhooks/${hook.id}`, { enabled: true })).status).toBe(200);
    const [got] = await r.waitFor(1);
    expect(got.headers['webhook-id']).toBe('msg_paused');
    expect(verify(hook.secret, got).data).toStrictEqual({ userId: '1', all: true });
  });
});
