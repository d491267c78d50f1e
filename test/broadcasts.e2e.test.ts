import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { hashPassword } from '../src/users/password.js';
import type { TestApp } from './support/app.js';
import { Client } from './support/http.js';
import { openStream, type SseConnection } from './support/sse.js';
import { assertOnlyMarker, count, liveStream, placeOrder, received, signedIn, startWithAdmin } from './support/shop.js';

let t: TestApp;
let admin: Client;
beforeAll(async () => ({ t, admin } = await startWithAdmin()));
afterAll(() => t.close());

const notificationRows = () => count(t, `SELECT count(*) FROM notifications`);
const userRows = () => count(t, `SELECT count(*) FROM users`);

async function broadcast(body: Record<string, unknown>): Promise<any> {
  const res = await admin.post('/admin/broadcasts', body);
  expect(res.status).toBe(201); // res.text
  return res.body;
}

/** Runs `fn` over `items`, at most `width` at a time. */
async function inBatches<T, R>(items: T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += width) out.push(...(await Promise.all(items.slice(i, i + width).map(fn))));
  return out;
}

describe('a broadcast to everyone, with 10,000 users', () => {
  const connected: Array<{ client: Client; id: string; stream: SseConnection }> = [];
  let bulkIds: string[] = [];

  beforeAll(async () => {
    // 10,000 users in one statement, all with the same (real argon2id) password hash.
    const hash = await hashPassword('password-123');
    const { rows } = await t.db.query(
      `INSERT INTO users (email, password_hash, role)
       SELECT 'bulk' || g || '@example.com', $1, 'user' FROM generate_series(1, 10000) AS g
       RETURNING id::text AS id`,
      [hash],
    );
    bulkIds = rows.map((r) => r.id);
    // 50 of them sign in and open a real stream each.
    const signedInUsers = await inBatches(
      Array.from({ length: 50 }, (_, i) => i + 1),
      5,
      async (i) => {
        const client = new Client(t.baseUrl);
        const res = await client.login(`bulk${i}@example.com`);
        expect(res.status).toBe(200); // res.text
        return { client, id: res.body.user.id as string };
      },
    );
    for (const u of signedInUsers) connected.push({ ...u, stream: await liveStream(t, u.client) });
  });
  afterAll(() => {
    for (const c of connected) c.stream.close();
  });

  it('is one row, delivered live to every connected user as event: system', async () => {
    expect(await userRows()).toBe(10_001);
    const stats = await admin.get('/admin/stats');
    expect(stats.body).toStrictEqual({ streams: 50, users: 50 });

    const before = await notificationRows();
    const sent = await broadcast({ title: 'Maintenance tonight', body: 'Checkout pauses from 02:00 to 02:30 UTC.' });
    expect(sent.channel).toBe('system');
    expect(sent.type).toBe('system.broadcast');
    expect(sent.severity).toBe('info');
    expect(sent.title).toBe('Maintenance tonight');
    expect(sent.audience).toStrictEqual({ kind: 'all' });
    expect(sent.expiresAt).toBe(null);
    expect(await notificationRows()).toBe(before + 1);

    await Promise.all(connected.map((c) => c.stream.waitForNotifications(1)));
    for (const c of connected) {
      const got = received(c.stream);
      expect(got.length).toBe(1);
      expect(got[0].event).toBe('system');
      expect(got[0].id).toBe(sent.id);
      expect(got[0].json).toStrictEqual({
        id: sent.id,
        channel: 'system',
        type: 'system.broadcast',
        severity: 'info',
        title: 'Maintenance tonight',
        body: 'Checkout pauses from 02:00 to 02:30 UTC.',
        data: {},
        createdAt: sent.createdAt,
        readAt: null,
        seenAt: null,
        archivedAt: null,
        snoozedUntil: null,
        actions: [],
      });
    }
  });

  it('has read state per user: one marks it read, the other still has it unread', async () => {
    const [first, second] = connected;
    const sent = received(first.stream)[0].json;
    expect((await first.client.post(`/notifications/${sent.id}/read`)).status).toBe(204);

    const firstCount = await first.client.get('/notifications/unread-count');
    const secondCount = await second.client.get('/notifications/unread-count');
    expect(firstCount.body.byChannel.system).toBe(0);
    expect(secondCount.body.byChannel.system).toBe(1);

    const firstInbox = await first.client.get('/notifications?channel=system');
    const secondInbox = await second.client.get('/notifications?channel=system');
    expect(firstInbox.body.items[0].id).toBe(sent.id);
    expect(firstInbox.body.items[0].readAt).toBeTruthy();
    expect(secondInbox.body.items[0].id).toBe(sent.id);
    expect(secondInbox.body.items[0].readAt).toBe(null);
    // Marking read wrote a receipt for one user, not a row per recipient.
    expect(await count(t, `SELECT count(*) FROM notification_reads WHERE notification_id = $1`, [sent.id])).toBe(1);
  });

  it('a userIds audience of 10,000 ids (a body over 64 KB) is one row; 10,001 ids is 400', async () => {
    const before = await notificationRows();
    const sent = await broadcast({ title: 'For the bulk users', body: '', audience: { userIds: bulkIds } });
    expect(sent.audience.kind).toBe('users');
    expect(sent.audience.userIds.length).toBe(10_000);
    expect(await notificationRows()).toBe(before + 1);
    await Promise.all(connected.map((c) => c.stream.waitForNotifications(2)));
    expect(connected.every((c) => received(c.stream)[1].json.id === sent.id)).toBeTruthy();

    const tooMany = await admin.post('/admin/broadcasts', {
      title: 'x',
      body: '',
      audience: { userIds: [...bulkIds, '1'] },
    });
    expect(tooMany.status).toBe(400);
    expect(await notificationRows()).toBe(before + 1);
  });

  it('does not reach users created after it was sent', async () => {
    const sent = (await admin.get('/admin/broadcasts?limit=100')).body.items.find(
      (b: { title: string }) => b.title === 'Maintenance tonight',
    );
    expect(sent).toBeTruthy();
    const late = await signedIn(t, 'late@example.com');
    const inbox = await late.client.get('/notifications');
    expect(inbox.body.items.length).toBe(0);
    expect((await late.client.post(`/notifications/${sent.id}/read`)).status).toBe(404);
  });
});

describe('audiences', () => {
  it('{ role: "admin" } reaches admins and not users', async () => {
    const ops = await admin.post('/admin/users', { email: 'ops@example.com', password: 'password-123', role: 'admin' });
    expect(ops.status).toBe(201);
    const opsClient = new Client(t.baseUrl);
    expect((await opsClient.login('ops@example.com')).status).toBe(200);
    const user = await signedIn(t, 'ann@example.com');
    const adminStream = await liveStream(t, admin);
    const opsStream = await liveStream(t, opsClient);
    const userStream = await liveStream(t, user.client);

    const sent = await broadcast({
      title: 'Admins only',
      body: 'Deploy at noon',
      severity: 'warning',
      audience: { role: 'admin' },
    });
    expect(sent.audience).toStrictEqual({ kind: 'role', role: 'admin' });
    expect(sent.severity).toBe('warning');
    for (const s of [adminStream, opsStream]) {
      await s.waitForNotifications(1);
      expect(received(s).map((g) => [g.event, g.json.id])).toStrictEqual([['system', sent.id]]);
    }
    await assertOnlyMarker(userStream, () => placeOrder(user.client), 0);
    for (const s of [adminStream, opsStream, userStream]) s.close();
  });

  it('{ userIds } reaches exactly those users', async () => {
    const bea = await signedIn(t, 'bea@example.com');
    const cal = await signedIn(t, 'cal@example.com');
    const beaStream = await liveStream(t, bea.client);
    const calStream = await liveStream(t, cal.client);
    const sent = await broadcast({
      title: 'Just for Bea',
      body: 'Your voucher is ready',
      audience: { userIds: [bea.id, bea.id] },
    });
    expect(sent.audience).toStrictEqual({ kind: 'users', userIds: [bea.id] });
    await beaStream.waitForNotifications(1);
    expect(received(beaStream).map((g) => [g.event, g.json.id, g.json.title])).toStrictEqual([
      ['system', sent.id, 'Just for Bea'],
    ]);
    await assertOnlyMarker(calStream, () => placeOrder(cal.client), 0);
    expect((await cal.client.post(`/notifications/${sent.id}/read`)).status).toBe(404);
    beaStream.close();
    calStream.close();
  });

  it('once expiresAt has passed it is neither listed nor replayed, but admins still see it', async () => {
    const dee = await signedIn(t, 'dee@example.com');
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    const sent = await broadcast({
      title: 'Flash sale',
      body: 'One hour only',
      audience: { userIds: [dee.id] },
      expiresAt,
    });
    expect(sent.expiresAt).toBe(expiresAt);
    expect((await dee.client.get('/notifications')).body.items.map((n: { id: string }) => n.id)).toStrictEqual([
      sent.id,
    ]);

    // Let the hour pass.
    await t.db.query(`UPDATE notifications SET expires_at = now() - interval '1 minute' WHERE id = $1`, [sent.id]);
    expect((await dee.client.get('/notifications')).body.items).toStrictEqual([]);
    const replay = await openStream(t.baseUrl, dee.client.cookieHeader, { lastEventId: '0' });
    await replay.waitForEvent('ready');
    await assertOnlyMarker(replay, () => placeOrder(dee.client), 0);
    replay.close();

    const listed = (await admin.get('/admin/broadcasts?limit=100')).body.items.find(
      (b: { id: string }) => b.id === sent.id,
    );
    expect(listed).toBeTruthy(); // expired broadcasts stay in the admin list
    expect(new Date(listed.expiresAt).getTime() < Date.now()).toBeTruthy();
    expect(listed.audience).toStrictEqual({ kind: 'users', userIds: [dee.id] });
  });
});

describe('GET /admin/broadcasts', () => {
  it('lists newest first, in pages', async () => {
    const a = await broadcast({ title: 'page A', body: '' });
    const b = await broadcast({ title: 'page B', body: '' });
    const first = await admin.get('/admin/broadcasts?limit=1');
    expect(first.status).toBe(200);
    expect(first.body.items.map((x: { id: string }) => x.id)).toStrictEqual([b.id]);
    expect(first.body.nextBefore).toBe(b.id);
    const second = await admin.get(`/admin/broadcasts?limit=1&before=${first.body.nextBefore}`);
    expect(second.body.items.map((x: { id: string }) => x.id)).toStrictEqual([a.id]);
    expect(Object.keys(second.body.items[0]).sort()).toStrictEqual([
      'actions',
      'archivedAt',
      'audience',
      'body',
      'channel',
      'createdAt',
      'data',
      'expiresAt',
      'id',
      'readAt',
      'seenAt',
      'severity',
      'snoozedUntil',
      'title',
      'translations',
      'type',
    ]);
    for (const q of ['limit=0', 'limit=101', 'before=x', 'channel=order']) {
      expect((await admin.get(`/admin/broadcasts?${q}`)).status).toBe(400); // q
    }
  });
});

describe('validation and access', () => {
  it('bad broadcasts are 400 and write nothing', async () => {
    const eli = await signedIn(t, 'eli@example.com');
    const ok = { title: 'Hello', body: 'World' };
    const bad: unknown[] = [
      {},
      { body: 'no title' },
      { title: 'no body' },
      { ...ok, title: '' },
      { ...ok, title: 'x'.repeat(201) },
      { ...ok, title: 42 },
      { ...ok, body: 'x'.repeat(10_001) },
      { ...ok, severity: 'urgent' },
      { ...ok, channel: 'order' },
      { ...ok, audience: {} },
      // Absent means everyone; null is not taken to mean it (it was a 500).
      { ...ok, audience: null },
      { ...ok, audience: 'admin' },
      { ...ok, audience: ['admin'] },
      { ...ok, audience: { role: 'root' } },
      { ...ok, audience: { role: 'admin', userIds: [eli.id] } },
      { ...ok, audience: { role: 'admin', team: 'ops' } },
      { ...ok, audience: { userIds: [] } },
      { ...ok, audience: { userIds: eli.id } },
      { ...ok, audience: { userIds: ['abc'] } },
      { ...ok, audience: { userIds: [Number(eli.id)] } },
      { ...ok, audience: { userIds: ['-1'] } },
      { ...ok, audience: { userIds: ['0'] } },
      { ...ok, audience: { userIds: ['1.5'] } },
      { ...ok, audience: { userIds: [' 1'] } },
      { ...ok, audience: { userIds: ['99999999999999999999'] } },
      { ...ok, audience: { userIds: [eli.id, '999999999'] } },
      { ...ok, audience: { userIds: Array.from({ length: 10_001 }, () => eli.id) } },
      { ...ok, expiresAt: 'tomorrow' },
      { ...ok, expiresAt: new Date(Date.now() - 60_000).toISOString() },
      { ...ok, expiresAt: 1893456000000 },
      // RFC 3339 date-times only (issue 13): not ISO 8601's ordinal or week dates, nor a time without zone.
      { ...ok, expiresAt: '2030-001' },
      { ...ok, expiresAt: '2030-W01-1' },
      { ...ok, expiresAt: '2030-01-01' },
      { ...ok, expiresAt: '2030-01-01T00:00:00' },
      { ...ok, expiresAt: '2030-02-30T00:00:00Z' },
      { ...ok, expiresAt: '2030-01-01T24:00:00Z' },
    ];
    const before = await notificationRows();
    for (const body of bad) {
      const res = await admin.post('/admin/broadcasts', body);
      expect(res.status).toBe(400); // `${JSON.stringify(body).slice(0, 120)} → ${res.status} ${res.text}`
      expect(res.body.statusCode).toBe(400);
    }
    expect((await admin.post('/admin/broadcasts', { ...ok, title: 'a\u0000b' })).status).toBe(400);
    expect(await notificationRows()).toBe(before);
  });

  it('a title of exactly 200 and a body of exactly 10,000 characters are accepted', async () => {
    const sent = await broadcast({ title: 't'.repeat(200), body: 'b'.repeat(10_000), severity: 'critical' });
    expect(sent.title.length).toBe(200);
    expect(sent.body.length).toBe(10_000);
    expect(sent.severity).toBe('critical');
  });

  it('every admin route is 403 for a user, and writes nothing', async () => {
    const fox = await signedIn(t, 'fox@example.com');
    const [notes, users] = [await notificationRows(), await userRows()];
    const attempts: Array<[string, string, unknown]> = [
      ['POST', '/admin/broadcasts', { title: 'Hi', body: 'x' }],
      ['GET', '/admin/broadcasts', undefined],
      ['POST', '/admin/users', { email: 'sneaky@example.com', password: 'password-123', role: 'admin' }],
      ['GET', '/admin/stats', undefined],
    ];
    for (const [method, path, body] of attempts) {
      const res = await fox.client.request(method, path, body);
      expect(res.status).toBe(403); // `${method} ${path}`
      expect(res.body).toStrictEqual({ statusCode: 403, message: 'Admin role required' });
    }
    const anon = new Client(t.baseUrl);
    expect((await anon.get('/admin/broadcasts')).status).toBe(401);
    expect([await notificationRows(), await userRows()]).toStrictEqual([notes, users]);
  });
});

describe('POST /admin/users', () => {
  it('creates users and admins; the new admin can use admin routes', async () => {
    const res = await admin.post('/admin/users', {
      email: 'Root2@Example.com',
      password: 'password-123',
      role: 'admin',
      displayName: 'Root Two',
    });
    expect(res.status).toBe(201); // res.text
    expect(Object.keys(res.body).sort()).toStrictEqual(['displayName', 'email', 'id', 'role']);
    expect(res.body.role).toBe('admin');
    expect(res.body.email).toBe('root2@example.com');
    const root2 = new Client(t.baseUrl);
    expect((await root2.login('root2@example.com')).status).toBe(200);
    expect((await root2.get('/admin/stats')).status).toBe(200);

    const plain = await admin.post('/admin/users', {
      email: 'plain@example.com',
      password: 'password-123',
      role: 'user',
    });
    expect(plain.status).toBe(201);
    expect(plain.body.role).toBe('user');
  });

  it('bad or duplicate users: 400 / 409, nothing written', async () => {
    await admin.post('/admin/users', { email: 'dup@example.com', password: 'password-123', role: 'user' });
    const before = await userRows();
    const dup = await admin.post('/admin/users', { email: 'DUP@example.com', password: 'password-123', role: 'admin' });
    expect(dup.status).toBe(409);
    for (const body of [
      { email: 'x@example.com', password: 'password-123' },
      { email: 'x@example.com', password: 'password-123', role: 'root' },
      { email: 'x@example.com', password: 'short', role: 'user' },
      { email: 'not-an-email', password: 'password-123', role: 'user' },
      { email: 'x@example.com', password: 'password-123', role: 'user', team: 'ops' },
    ]) {
      expect((await admin.post('/admin/users', body)).status).toBe(400); // JSON.stringify(body)
    }
    expect(await userRows()).toBe(before);
  });
});
