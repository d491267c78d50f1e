import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, type TestApp } from './support/app.js';
import { Client } from './support/http.js';
import { adminClient } from './support/shop.js';
import { openStream } from './support/sse.js';

let t: TestApp;
let key: string;
const users: Record<'ann' | 'bob' | 'cat', { id: string; c: Client }> = {} as never;

beforeAll(async () => {
  t = await startTestApp();
  const admin = await adminClient(t);
  key = (await admin.post('/admin/api-keys', { name: 'shop' })).body.key;
  for (const name of ['ann', 'bob', 'cat'] as const) {
    const c = new Client(t.baseUrl);
    users[name] = { id: (await c.signUp(`${name}@example.com`)).id, c };
  }
});
afterAll(async () => {
  await t.close();
});

async function call(method: string, path: string, body?: unknown) {
  const res = await fetch(t.baseUrl + path, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const toTopic = (topic: string, extra: Record<string, unknown> = {}) =>
  call('POST', '/v1/notifications', { to: { topic }, channel: 'order', title: `about ${topic}`, body: 'b', ...extra });

describe('topic subscribers (API key)', () => {
  it('subscribes, lists by pages, unsubscribes', async () => {
    const ids = [users.cat.id, users.ann.id, users.bob.id];
    expect((await call('PUT', '/v1/topics/restock.sku-1/subscribers', { userIds: ids })).status).toBe(204);
    expect((await call('PUT', '/v1/topics/restock.sku-1/subscribers', { userIds: [users.ann.id] })).status).toBe(204);
    const first = await call('GET', '/v1/topics/restock.sku-1/subscribers?limit=2');
    expect(first.status).toBe(200);
    const sorted = [...ids].sort((x, y) => Number(x) - Number(y));
    expect(first.body.items.map((i: { userId: string }) => i.userId)).toStrictEqual(sorted.slice(0, 2));
    expect(first.body.items[0].subscribedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(first.body.next).toBe(sorted[1]);
    const second = await call('GET', `/v1/topics/restock.sku-1/subscribers?limit=2&after=${first.body.next}`);
    expect(second.body).toStrictEqual({ items: [expect.objectContaining({ userId: sorted[2] })], next: null });
    // As the contract writes the route, `?limit&after`: blank parameters are absent ones, the first page.
    const literal = await call('GET', '/v1/topics/restock.sku-1/subscribers?limit&after');
    expect([literal.status, literal.body.items.map((i: { userId: string }) => i.userId)]).toStrictEqual([200, sorted]);
    expect((await call('DELETE', '/v1/topics/restock.sku-1/subscribers', { userIds: ids })).status).toBe(204);
    expect((await call('GET', '/v1/topics/restock.sku-1/subscribers')).body).toStrictEqual({ items: [], next: null });
  });

  it('400 and nothing changed: unknown users, a bad key, too many ids', async () => {
    const unknown = await call('PUT', '/v1/topics/t1/subscribers', { userIds: [users.ann.id, '99999'] });
    expect(unknown).toStrictEqual({
      status: 400,
      body: { statusCode: 400, message: 'userIds lists unknown users: 99999' },
    });
    expect((await call('GET', '/v1/topics/t1/subscribers')).body.items).toStrictEqual([]);
    const badKey = await call('PUT', '/v1/topics/bad%20key/subscribers', { userIds: [users.ann.id] });
    expect(badKey.status).toBe(400);
    expect(badKey.body.message).toMatch(/^a topic key is 1 to 128/);
    const many = await call('PUT', '/v1/topics/t1/subscribers', {
      userIds: Array.from({ length: 1001 }, (_, i) => String(i + 1)),
    });
    expect(many.body.message).toBe('userIds may list at most 1000 users');
    expect((await call('GET', '/v1/topics/t1/subscribers?limit=0')).status).toBe(400);
  });

  it('needs the key: a session cookie alone is 401', async () => {
    const res = await users.ann.c.get('/v1/topics/t1/subscribers');
    expect(res.status).toBe(401);
  });
});

describe('a user and their topics', () => {
  it('lists only their own and leaves one', async () => {
    await call('PUT', '/v1/topics/news/subscribers', { userIds: [users.ann.id, users.bob.id] });
    await call('PUT', '/v1/topics/deals/subscribers', { userIds: [users.ann.id] });
    const mine = await users.ann.c.get('/topics');
    expect(mine.status).toBe(200);
    expect(mine.body.items.map((i: { key: string }) => i.key)).toStrictEqual(['deals', 'news']);
    expect((await users.cat.c.get('/topics')).body).toStrictEqual({ items: [] });
    expect((await users.ann.c.request('DELETE', '/topics/news')).status).toBe(204);
    expect((await users.ann.c.get('/topics')).body.items.map((i: { key: string }) => i.key)).toStrictEqual(['deals']);
    // Leaving is the user's own: bob still follows it.
    expect((await users.bob.c.get('/topics')).body.items.map((i: { key: string }) => i.key)).toStrictEqual(['news']);
    expect((await new Client(t.baseUrl).get('/topics')).status).toBe(401);
  });
});

describe('a topic notification', () => {
  it('is one row whose audience is frozen at send time: a non-subscriber never sees it, live, on replay or in the inbox', async () => {
    await call('PUT', '/v1/topics/restock.sku-2/subscribers', { userIds: [users.ann.id, users.bob.id] });
    await call('DELETE', '/v1/topics/restock.sku-2/subscribers', { userIds: [users.bob.id] });
    const annLive = await openStream(t.baseUrl, users.ann.c.cookieHeader);
    const catLive = await openStream(t.baseUrl, users.cat.c.cookieHeader);
    await Promise.all([annLive.waitForEvent('ready'), catLive.waitForEvent('ready')]);

    const before = (await t.db.query(`SELECT count(*)::int AS n FROM notifications`)).rows[0].n;
    const sent = await toTopic('restock.sku-2', { deliver: ['email'], type: 'order.restocked' });
    expect(sent.status).toBe(201);
    expect(sent.body.skipped).toStrictEqual([]);
    expect(sent.body.ids).toHaveLength(1);
    const [id] = sent.body.ids;
    expect((await t.db.query(`SELECT count(*)::int AS n FROM notifications`)).rows[0].n).toBe(before + 1);
    const row = (
      await t.db.query(
        `SELECT user_id, audience_kind, audience_user_ids::text[] AS ids, deliver FROM notifications WHERE id = $1`,
        [id],
      )
    ).rows[0];
    expect(row).toStrictEqual({ user_id: null, audience_kind: 'users', ids: [users.ann.id], deliver: ['email'] });

    // Subscribing later changes nothing for this one.
    await call('PUT', '/v1/topics/restock.sku-2/subscribers', { userIds: [users.cat.id, users.bob.id] });

    await annLive.waitForNotifications(1);
    expect(annLive.notifications.map((e) => e.id)).toStrictEqual([id]);
    // A personal one to bob and to cat after it: once it arrived, the topic one would have come before it.
    const mark = await call('POST', '/v1/notifications', {
      to: { userIds: [users.cat.id, users.bob.id] },
      channel: 'order',
      title: 'mark',
      body: 'b',
    });
    const marks = { cat: mark.body.ids[0], bob: mark.body.ids[1] };
    await catLive.waitForNotifications(1);
    expect(catLive.notifications.map((e) => e.id)).toStrictEqual([marks.cat]);
    annLive.close();
    catLive.close();

    for (const who of ['bob', 'cat'] as const) {
      const replay = await openStream(t.baseUrl, users[who].c.cookieHeader, { lastEventId: '0' });
      await replay.until(() => replay.notifications.some((e) => e.id === marks[who]), `${who}'s mark replayed`);
      expect(replay.notifications.map((e) => e.id)).toStrictEqual([marks[who]]);
      replay.close();
      const inbox = await users[who].c.get('/notifications?limit=100');
      expect(inbox.body.items.map((n: { id: string }) => n.id)).toStrictEqual([marks[who]]);
      expect((await users[who].c.post(`/notifications/${id}/read`)).status).toBe(404);
    }
    const annReplay = await openStream(t.baseUrl, users.ann.c.cookieHeader, { lastEventId: String(Number(id) - 1) });
    await annReplay.waitForNotifications(1);
    expect(annReplay.notifications[0]).toMatchObject({ id });
    annReplay.close();
    const annInbox = await users.ann.c.get('/notifications');
    expect(annInbox.body.items[0]).toMatchObject({ id, title: 'about restock.sku-2', type: 'order.restocked' });
  });

  it('to a topic nobody follows: one row that nobody sees', async () => {
    const sent = await toTopic('empty-topic');
    expect(sent.status).toBe(201);
    expect(sent.body.ids).toHaveLength(1);
    expect(
      (await users.ann.c.get('/notifications?limit=100')).body.items.map((n: { id: string }) => n.id),
    ).not.toContain(sent.body.ids[0]);
  });
});
