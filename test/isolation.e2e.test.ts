import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CHANNELS, type NotificationRow } from '../src/notifications/notification.types.js';
import { SqlParams, canSee, visibleNotificationsSql, type Viewer } from '../src/notifications/visibility.js';
import { startTestApp, type TestApp } from './support/app.js';
import { Client } from './support/http.js';
import { broadcast, publishTo } from './support/publish.js';
import { openStream } from './support/sse.js';

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(async () => {
  await t.close();
});

async function user(email: string): Promise<{ c: Client; id: string }> {
  const c = new Client(t.baseUrl);
  const u = await c.signUp(email);
  return { c, id: u.id };
}

async function admin(): Promise<{ c: Client; id: string }> {
  const c = new Client(t.baseUrl);
  const res = await c.login(t.adminEmail, t.adminPassword);
  return { c, id: res.body.user.id };
}

const listIds = async (c: Client, query = 'limit=100') =>
  ((await c.get(`/notifications?${query}`)).body.items as Array<{ id: string }>).map((n) => n.id);

describe("user B never sees user A's notifications", () => {
  it('not on the stream, whatever Last-Event-ID; not in the inbox, counts or mark-read', async () => {
    const a = await user('a@example.com');
    const b = await user('b@example.com');
    const bStream = await openStream(t.baseUrl, b.c.cookieHeader, { lastEventId: '0' });
    await bStream.waitForEvent('ready');
    const aRows: NotificationRow[] = [];
    for (let i = 0; i < 5; i++) aRows.push(await publishTo(t, a.id, { title: `secret ${i}` }));
    const bRow = await publishTo(t, b.id, { title: 'for b' });
    await bStream.waitForNotifications(1);
    assert.deepEqual(
      bStream.notifications.map((e) => e.id),
      [String(bRow.id)],
    );
    bStream.close();

    for (const lastEventId of ['0', String(Number(aRows[0].id) - 1), String(aRows[2].id)]) {
      const s = await openStream(t.baseUrl, b.c.cookieHeader, { lastEventId });
      await s.waitForNotifications(Number(lastEventId) < Number(bRow.id) ? 1 : 0);
      await s.waitForEvent('ready');
      // The latest id is B's own, so once it arrived (or the cursor is past it) replay is complete.
      assert.ok(
        s.notifications.every((e) => e.id === String(bRow.id)),
        `Last-Event-ID ${lastEventId}`,
      );
      s.close();
    }

    assert.deepEqual(await listIds(b.c), [String(bRow.id)]);
    assert.deepEqual(await listIds(b.c, `before=${Number(aRows[4].id) + 1}&limit=100`), []);
    assert.equal((await b.c.get('/notifications/unread-count')).body.total, 1);
    for (const row of aRows) {
      const res = await b.c.post(`/notifications/${row.id}/read`);
      assert.equal(res.status, 404);
      assert.deepEqual(res.body, { statusCode: 404, message: 'Notification not found' });
    }
    const receipts = await t.db.query(`SELECT count(*)::int AS n FROM notification_reads WHERE user_id = $1`, [b.id]);
    assert.equal(receipts.rows[0].n, 0);
    assert.equal((await a.c.get('/notifications/unread-count')).body.total, 5, "A's stay unread");
  });

  it("B's mark-all-read does not touch A's read state", async () => {
    const a = await user('a2@example.com');
    const b = await user('b2@example.com');
    await publishTo(t, a.id);
    await publishTo(t, b.id);
    assert.equal((await b.c.post('/notifications/read-all')).status, 204);
    assert.equal((await b.c.get('/notifications/unread-count')).body.total, 0);
    assert.equal((await a.c.get('/notifications/unread-count')).body.total, 1);
  });
});

describe('broadcast audiences', () => {
  it('everyone existing now; not users created later; role and user-id audiences reach exactly them', async () => {
    const u1 = await user('u1@example.com');
    const u2 = await user('u2@example.com');
    const adm = await admin();
    const streams = await Promise.all([u1, u2, adm].map((x) => openStream(t.baseUrl, x.c.cookieHeader)));
    await Promise.all(streams.map((s) => s.waitForEvent('ready')));

    const all = await broadcast(t, { kind: 'all' }, { title: 'to all' });
    const admins = await broadcast(t, { kind: 'role', role: 'admin' }, { title: 'to admins' });
    const listed = await broadcast(t, { kind: 'users', userIds: [u2.id] }, { title: 'to u2' });
    const latecomer = await user('late@example.com');

    await streams[0].waitForNotifications(1);
    await streams[1].waitForNotifications(2);
    await streams[2].waitForNotifications(2);
    const titles = (i: number) => streams[i].notifications.map((e) => JSON.parse(e.data).title);
    assert.deepEqual(titles(0), ['to all']);
    assert.deepEqual(titles(1), ['to all', 'to u2']);
    assert.deepEqual(titles(2), ['to all', 'to admins']);
    assert.ok(streams.every((s) => s.notifications.every((e) => e.event === 'system')));
    streams.forEach((s) => s.close());

    assert.deepEqual(await listIds(u1.c), [String(all.id)]);
    assert.deepEqual(await listIds(u2.c), [String(listed.id), String(all.id)]);
    assert.deepEqual(await listIds(adm.c), [String(admins.id), String(all.id)]);
    assert.deepEqual(await listIds(latecomer.c), [], 'created after the broadcasts');
    const late = await openStream(t.baseUrl, latecomer.c.cookieHeader, { lastEventId: '0' });
    await late.waitForEvent('ready');
    const own = await publishTo(t, latecomer.id);
    await late.waitForNotifications(1);
    assert.deepEqual(
      late.notifications.map((e) => e.id),
      [String(own.id)],
    );
    late.close();
    assert.equal((await latecomer.c.post(`/notifications/${all.id}/read`)).status, 404);

    // Read state of a broadcast is per user.
    assert.equal((await u1.c.post(`/notifications/${all.id}/read`)).status, 204);
    assert.equal((await u1.c.get('/notifications/unread-count')).body.byChannel.system, 0);
    assert.equal((await u2.c.get('/notifications/unread-count')).body.byChannel.system, 2);
    const u1Item = (await u1.c.get('/notifications')).body.items[0];
    const u2Item = (await u2.c.get('/notifications')).body.items.find((n: { id: string }) => n.id === String(all.id));
    assert.notEqual(u1Item.readAt, null);
    assert.equal(u2Item.readAt, null);
  });

  it('expired broadcasts vanish from inbox, counts and replay', async () => {
    const u = await user('expiry@example.com');
    const soon = await broadcast(t, { kind: 'all' }, { title: 'expires', expiresAt: new Date(Date.now() + 60_000) });
    const keep = await broadcast(t, { kind: 'all' }, { title: 'stays' });
    assert.deepEqual(await listIds(u.c), [String(keep.id), String(soon.id)]);
    await t.db.query(`UPDATE notifications SET expires_at = now() - interval '1 second' WHERE id = $1`, [soon.id]);
    assert.deepEqual(await listIds(u.c), [String(keep.id)]);
    assert.equal((await u.c.get('/notifications/unread-count')).body.byChannel.system, 1);
    const s = await openStream(t.baseUrl, u.c.cookieHeader, { lastEventId: String(Number(soon.id) - 1) });
    await s.waitForNotifications(1);
    assert.deepEqual(
      s.notifications.map((e) => e.id),
      [String(keep.id)],
    );
    s.close();
    assert.equal((await u.c.post(`/notifications/${soon.id}/read`)).status, 404);
  });

  it('the SQL and in-memory forms of visibility agree on every row', async () => {
    const viewers: Viewer[] = (await t.db.query(`SELECT id::text, role, created_at FROM users ORDER BY id`)).rows.map(
      (r: { id: string; role: 'user' | 'admin'; created_at: Date }) => ({
        id: r.id,
        role: r.role,
        createdAt: r.created_at,
      }),
    );
    const { rows } = await t.db.query(
      `SELECT id::text AS id, user_id::text AS user_id, channel, type, severity, title, body, data, audience_kind, audience_role,
              audience_user_ids::text[] AS audience_user_ids, created_at, expires_at FROM notifications`,
    );
    assert.ok(rows.length > 10 && viewers.length > 5);
    const now = Date.now();
    for (const viewer of viewers) {
      const params = new SqlParams();
      const sql = visibleNotificationsSql(params, { viewer, order: 'ASC' });
      const fromSql = (await t.db.query(sql, params.values)).rows.map((r: { id: string }) => String(r.id));
      const inMemory = rows.filter((r: NotificationRow) => canSee(viewer, r, now)).map((r: { id: string }) => r.id);
      assert.deepEqual(
        fromSql,
        inMemory.sort((a: string, b: string) => Number(a) - Number(b)),
        `viewer ${viewer.id}`,
      );
    }
  });
});

describe('inbox', () => {
  it('lists newest first with keyset pagination, channel and unread filters, and counts by channel', async () => {
    const u = await user('inbox@example.com');
    const rows: NotificationRow[] = [];
    for (let i = 0; i < 7; i++) rows.push(await publishTo(t, u.id, { channel: CHANNELS[i % 3], title: `n${i}` }));
    const page1 = (await u.c.get('/notifications?limit=3')).body;
    assert.deepEqual(
      page1.items.map((n: { title: string }) => n.title),
      ['n6', 'n5', 'n4'],
    );
    assert.equal(page1.nextBefore, String(rows[4].id));
    const page2 = (await u.c.get(`/notifications?limit=3&before=${page1.nextBefore}`)).body;
    assert.deepEqual(
      page2.items.map((n: { title: string }) => n.title),
      ['n3', 'n2', 'n1'],
    );
    const page3 = (await u.c.get(`/notifications?limit=3&before=${page2.nextBefore}`)).body;
    assert.deepEqual(
      page3.items.map((n: { title: string }) => n.title),
      ['n0'],
    );
    assert.equal(page3.nextBefore, null);
    const orders = (await u.c.get('/notifications?channel=order')).body.items;
    assert.deepEqual(
      orders.map((n: { title: string }) => n.title),
      ['n6', 'n3', 'n0'],
    );

    assert.deepEqual((await u.c.get('/notifications/unread-count')).body, {
      total: 7,
      byChannel: { order: 3, payment: 2, system: 2 },
    });
    assert.equal((await u.c.post(`/notifications/${rows[6].id}/read`)).status, 204);
    assert.equal((await u.c.post(`/notifications/${rows[6].id}/read`)).status, 204, 'idempotent');
    assert.equal((await u.c.post('/notifications/read-all', { channel: 'payment' })).status, 204);
    assert.deepEqual((await u.c.get('/notifications/unread-count')).body, {
      total: 4,
      byChannel: { order: 2, payment: 0, system: 2 },
    });
    const unread = (await u.c.get('/notifications?unread=true')).body.items;
    assert.deepEqual(
      unread.map((n: { title: string }) => n.title),
      ['n5', 'n3', 'n2', 'n0'],
    );
    const after = await publishTo(t, u.id, { channel: 'payment', title: 'after' });
    assert.equal(
      (await u.c.get('/notifications/unread-count')).body.byChannel.payment,
      1,
      'a later notification is unread',
    );
    assert.equal((await u.c.post('/notifications/read-all')).status, 204);
    assert.deepEqual((await u.c.get('/notifications/unread-count')).body, {
      total: 0,
      byChannel: { order: 0, payment: 0, system: 0 },
    });
    const all = (await u.c.get('/notifications')).body.items;
    assert.ok(all.every((n: { readAt: string | null }) => typeof n.readAt === 'string'));
    assert.equal(all[0].id, String(after.id));
  });

  it('requires a session', async () => {
    const anon = new Client(t.baseUrl);
    for (const path of ['/notifications', '/notifications/unread-count', '/preferences']) {
      assert.equal((await anon.get(path)).status, 401, path);
    }
  });
});
