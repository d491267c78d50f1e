import { describe, expect, it } from '@jest/globals';
import { CHANNELS, type NotificationRow } from '../src/notifications/notification.types.js';
import { SqlParams, canSee, visibleNotificationsSql, type Viewer } from '../src/notifications/visibility.js';
import { sharedTestApp } from './support/app.js';
import { Client } from './support/http.js';
import { signedIn } from './support/shop.js';
import { broadcast, publishTo } from './support/publish.js';
import { NO_UNREAD } from './support/registry.js';
import { openStream } from './support/sse.js';

const t = sharedTestApp();

async function admin(): Promise<{ client: Client; id: string }> {
  const c = new Client(t.baseUrl);
  const res = await c.login(t.adminEmail, t.adminPassword);
  return { client: c, id: res.body.user.id };
}

const listIds = async (c: Client, query = 'limit=100') =>
  ((await c.get(`/notifications?${query}`)).body.items as Array<{ id: string }>).map((n) => n.id);

describe("user B never sees user A's notifications", () => {
  it('not on the stream, whatever Last-Event-ID; not in the inbox, counts or mark-read', async () => {
    const a = await signedIn(t, 'a@example.com');
    const b = await signedIn(t, 'b@example.com');
    const bStream = await openStream(t.baseUrl, b.client.cookieHeader, { lastEventId: '0' });
    await bStream.waitForEvent('ready');
    const aRows: NotificationRow[] = [];
    for (let i = 0; i < 5; i++) aRows.push(await publishTo(t, a.id, { title: `secret ${i}` }));
    const bRow = await publishTo(t, b.id, { title: 'for b' });
    await bStream.waitForNotifications(1);
    expect(bStream.notifications.map((e) => e.id)).toStrictEqual([String(bRow.id)]);
    bStream.close();

    for (const lastEventId of ['0', String(Number(aRows[0].id) - 1), String(aRows[2].id)]) {
      const s = await openStream(t.baseUrl, b.client.cookieHeader, { lastEventId });
      await s.waitForNotifications(Number(lastEventId) < Number(bRow.id) ? 1 : 0);
      await s.waitForEvent('ready');
      // The latest id is B's own, so once it arrived (or the cursor is past it) replay is complete.
      expect(s.notifications.every((e) => e.id === String(bRow.id))).toBeTruthy(); // `Last-Event-ID ${lastEventId}`
      s.close();
    }

    expect(await listIds(b.client)).toStrictEqual([String(bRow.id)]);
    expect(await listIds(b.client, `before=${Number(aRows[4].id) + 1}&limit=100`)).toStrictEqual([]);
    expect((await b.client.get('/notifications/unread-count')).body.total).toBe(1);
    for (const row of aRows) {
      const res = await b.client.post(`/notifications/${row.id}/read`);
      expect(res.status).toBe(404);
      expect(res.body).toStrictEqual({ statusCode: 404, message: 'Notification not found' });
    }
    const receipts = await t.db.query(`SELECT count(*)::int AS n FROM notification_reads WHERE user_id = $1`, [b.id]);
    expect(receipts.rows[0].n).toBe(0);
    expect((await a.client.get('/notifications/unread-count')).body.total).toBe(5); // A's stay unread
  });

  it("B's mark-all-read does not touch A's read state", async () => {
    const a = await signedIn(t, 'a2@example.com');
    const b = await signedIn(t, 'b2@example.com');
    await publishTo(t, a.id);
    await publishTo(t, b.id);
    expect((await b.client.post('/notifications/read-all')).status).toBe(204);
    expect((await b.client.get('/notifications/unread-count')).body.total).toBe(0);
    expect((await a.client.get('/notifications/unread-count')).body.total).toBe(1);
  });
});

describe('broadcast audiences', () => {
  it('everyone existing now; not users created later; role and user-id audiences reach exactly them', async () => {
    const u1 = await signedIn(t, 'u1@example.com');
    const u2 = await signedIn(t, 'u2@example.com');
    const adm = await admin();
    const streams = await Promise.all([u1, u2, adm].map((x) => openStream(t.baseUrl, x.client.cookieHeader)));
    await Promise.all(streams.map((s) => s.waitForEvent('ready')));

    const all = await broadcast(t, { kind: 'all' }, { title: 'to all' });
    const admins = await broadcast(t, { kind: 'role', role: 'admin' }, { title: 'to admins' });
    const listed = await broadcast(t, { kind: 'users', userIds: [u2.id] }, { title: 'to u2' });
    const latecomer = await signedIn(t, 'late@example.com');

    await streams[0].waitForNotifications(1);
    await streams[1].waitForNotifications(2);
    await streams[2].waitForNotifications(2);
    const titles = (i: number) => streams[i].notifications.map((e) => JSON.parse(e.data).title);
    expect(titles(0)).toStrictEqual(['to all']);
    expect(titles(1)).toStrictEqual(['to all', 'to u2']);
    expect(titles(2)).toStrictEqual(['to all', 'to admins']);
    expect(streams.every((s) => s.notifications.every((e) => e.event === 'system'))).toBeTruthy();
    streams.forEach((s) => s.close());

    expect(await listIds(u1.client)).toStrictEqual([String(all.id)]);
    expect(await listIds(u2.client)).toStrictEqual([String(listed.id), String(all.id)]);
    expect(await listIds(adm.client)).toStrictEqual([String(admins.id), String(all.id)]);
    expect(await listIds(latecomer.client)).toStrictEqual([]); // created after the broadcasts
    const late = await openStream(t.baseUrl, latecomer.client.cookieHeader, { lastEventId: '0' });
    await late.waitForEvent('ready');
    const own = await publishTo(t, latecomer.id);
    await late.waitForNotifications(1);
    expect(late.notifications.map((e) => e.id)).toStrictEqual([String(own.id)]);
    late.close();
    expect((await latecomer.client.post(`/notifications/${all.id}/read`)).status).toBe(404);

    // Read state of a broadcast is per user.
    expect((await u1.client.post(`/notifications/${all.id}/read`)).status).toBe(204);
    expect((await u1.client.get('/notifications/unread-count')).body.byChannel.system).toBe(0);
    expect((await u2.client.get('/notifications/unread-count')).body.byChannel.system).toBe(2);
    const u1Item = (await u1.client.get('/notifications')).body.items[0];
    const u2Item = (await u2.client.get('/notifications')).body.items.find(
      (n: { id: string }) => n.id === String(all.id),
    );
    expect(u1Item.readAt).not.toBe(null);
    expect(u2Item.readAt).toBe(null);
  });

  it('expired broadcasts vanish from inbox, counts and replay', async () => {
    const u = await signedIn(t, 'expiry@example.com');
    const soon = await broadcast(t, { kind: 'all' }, { title: 'expires', expiresAt: new Date(Date.now() + 60_000) });
    const keep = await broadcast(t, { kind: 'all' }, { title: 'stays' });
    expect(await listIds(u.client)).toStrictEqual([String(keep.id), String(soon.id)]);
    await t.db.query(`UPDATE notifications SET expires_at = now() - interval '1 second' WHERE id = $1`, [soon.id]);
    expect(await listIds(u.client)).toStrictEqual([String(keep.id)]);
    expect((await u.client.get('/notifications/unread-count')).body.byChannel.system).toBe(1);
    const s = await openStream(t.baseUrl, u.client.cookieHeader, { lastEventId: String(Number(soon.id) - 1) });
    await s.waitForNotifications(1);
    expect(s.notifications.map((e) => e.id)).toStrictEqual([String(keep.id)]);
    s.close();
    expect((await u.client.post(`/notifications/${soon.id}/read`)).status).toBe(404);
  });

  it('the SQL and in-memory forms of visibility agree on every row', async () => {
    const viewers: Viewer[] = (
      await t.db.query(`SELECT id::text, role, created_at FROM users ORDER BY users.id`)
    ).rows.map((r: { id: string; role: 'user' | 'admin'; created_at: Date }) => ({
      id: r.id,
      role: r.role,
      createdAt: r.created_at,
    }));
    const { rows } = await t.db.query(
      `SELECT id::text AS id, user_id::text AS user_id, channel, type, severity, title, body, data, audience_kind, audience_role,
              audience_user_ids::text[] AS audience_user_ids, created_at, expires_at FROM notifications`,
    );
    expect(rows.length > 10 && viewers.length > 5).toBeTruthy();
    const now = Date.now();
    for (const viewer of viewers) {
      const params = new SqlParams();
      const sql = visibleNotificationsSql(params, { viewer, order: 'ASC' });
      const fromSql = (await t.db.query(sql, params.values)).rows.map((r: { id: string }) => String(r.id));
      const inMemory = rows.filter((r: NotificationRow) => canSee(viewer, r, now)).map((r: { id: string }) => r.id);
      expect(fromSql).toStrictEqual(inMemory.sort((a: string, b: string) => Number(a) - Number(b))); // `viewer ${viewer.id}`
    }
  });
});

describe('inbox', () => {
  it('lists newest first with keyset pagination, channel and unread filters, and counts by channel', async () => {
    const u = await signedIn(t, 'inbox@example.com');
    const rows: NotificationRow[] = [];
    for (let i = 0; i < 7; i++) rows.push(await publishTo(t, u.id, { channel: CHANNELS[i % 3], title: `n${i}` }));
    const page1 = (await u.client.get('/notifications?limit=3')).body;
    expect(page1.items.map((n: { title: string }) => n.title)).toStrictEqual(['n6', 'n5', 'n4']);
    expect(page1.nextBefore).toBe(String(rows[4].id));
    const page2 = (await u.client.get(`/notifications?limit=3&before=${page1.nextBefore}`)).body;
    expect(page2.items.map((n: { title: string }) => n.title)).toStrictEqual(['n3', 'n2', 'n1']);
    const page3 = (await u.client.get(`/notifications?limit=3&before=${page2.nextBefore}`)).body;
    expect(page3.items.map((n: { title: string }) => n.title)).toStrictEqual(['n0']);
    expect(page3.nextBefore).toBe(null);
    const orders = (await u.client.get('/notifications?channel=order')).body.items;
    expect(orders.map((n: { title: string }) => n.title)).toStrictEqual(['n6', 'n3', 'n0']);

    expect((await u.client.get('/notifications/unread-count')).body).toStrictEqual({
      total: 7,
      byChannel: { ...NO_UNREAD, order: 3, payment: 2, system: 2 },
      unseen: 7,
    });
    expect((await u.client.post(`/notifications/${rows[6].id}/read`)).status).toBe(204);
    expect((await u.client.post(`/notifications/${rows[6].id}/read`)).status).toBe(204); // idempotent
    expect((await u.client.post('/notifications/read-all', { channel: 'payment' })).status).toBe(204);
    expect((await u.client.get('/notifications/unread-count')).body).toStrictEqual({
      total: 4,
      byChannel: { ...NO_UNREAD, order: 2, payment: 0, system: 2 },
      unseen: 7,
    });
    const unread = (await u.client.get('/notifications?unread=true')).body.items;
    expect(unread.map((n: { title: string }) => n.title)).toStrictEqual(['n5', 'n3', 'n2', 'n0']);
    const after = await publishTo(t, u.id, { channel: 'payment', title: 'after' });
    expect((await u.client.get('/notifications/unread-count')).body.byChannel.payment).toBe(1); // a later notification is unread
    expect((await u.client.post('/notifications/read-all')).status).toBe(204);
    expect((await u.client.get('/notifications/unread-count')).body).toStrictEqual({
      total: 0,
      byChannel: NO_UNREAD,
      unseen: 8,
    });
    const all = (await u.client.get('/notifications')).body.items;
    expect(all.every((n: { readAt: string | null }) => typeof n.readAt === 'string')).toBeTruthy();
    expect(all[0].id).toBe(String(after.id));
  });

  it('requires a session', async () => {
    const anon = new Client(t.baseUrl);
    for (const path of ['/notifications', '/notifications/unread-count', '/preferences']) {
      expect((await anon.get(path)).status).toBe(401); // path
    }
  });
});
