import { describe, expect, it } from '@jest/globals';
import { sharedTestApp } from './support/app.js';
import { broadcast, publishMany, publishTo } from './support/publish.js';
import { liveStream, signedIn } from './support/shop.js';
import type { SseConnection } from './support/sse.js';

const t = sharedTestApp();

const ids = (res: { body: { items: Array<{ id: string }> } }) => res.body.items.map((n) => n.id);
const inAnHour = () => new Date(Date.now() + 3600_000).toISOString();

/** The state events (read, state, unsnoozed) a stream received, parsed, with their ids. */
const stateEvents = (conn: SseConnection) =>
  conn.events
    .filter((e) => ['read', 'state', 'unsnoozed'].includes(e.event))
    .map((e) => ({ event: e.event, id: e.id, data: JSON.parse(e.data) }));

describe('inbox states', () => {
  it('a notification carries seenAt, archivedAt, snoozedUntil and actions', async () => {
    const { client, id } = await signedIn(t, 'states-shape@example.com');
    const row = await publishTo(t, id);
    const list = await client.get('/notifications');
    expect(list.status).toBe(200);
    expect(list.body.items[0]).toMatchObject({
      id: String(row.id),
      readAt: null,
      seenAt: null,
      archivedAt: null,
      snoozedUntil: null,
      actions: [],
    });
  });

  it('archive and unarchive move a notification between the inbox and the archive', async () => {
    const { client, id } = await signedIn(t, 'states-archive@example.com');
    const [a, b] = await publishMany(t, id, 2);
    expect((await client.post(`/notifications/${a.id}/archive`)).status).toBe(204);
    expect(ids(await client.get('/notifications'))).toStrictEqual([b.id]);
    expect(ids(await client.get('/notifications?status=inbox'))).toStrictEqual([b.id]);
    const archived = await client.get('/notifications?status=archived');
    expect(ids(archived)).toStrictEqual([a.id]);
    expect(typeof archived.body.items[0].archivedAt).toBe('string');
    expect(ids(await client.get('/notifications?status=all'))).toStrictEqual([b.id, a.id]);
    // Archived ones do not count as unread.
    expect((await client.get('/notifications/unread-count')).body.total).toBe(1);
    // Twice is fine.
    expect((await client.post(`/notifications/${a.id}/archive`)).status).toBe(204);
    expect((await client.post(`/notifications/${a.id}/unarchive`)).status).toBe(204);
    expect(ids(await client.get('/notifications'))).toStrictEqual([b.id, a.id]);
    expect((await client.get('/notifications?status=archived')).body.items).toStrictEqual([]);
  });

  it('status=unread and unread=true list the unread inbox', async () => {
    const { client, id } = await signedIn(t, 'states-unread@example.com');
    const [a, b, c] = await publishMany(t, id, 3);
    await client.post(`/notifications/${a.id}/read`);
    await client.post(`/notifications/${b.id}/archive`);
    expect(ids(await client.get('/notifications?status=unread'))).toStrictEqual([c.id]);
    expect(ids(await client.get('/notifications?unread=true'))).toStrictEqual([c.id]);
    expect((await client.get('/notifications?status=bogus')).status).toBe(400);
  });

  it('snooze takes it out of the list and the counts; unsnooze brings it back at once', async () => {
    const { client, id } = await signedIn(t, 'states-snooze@example.com');
    const [a, b] = await publishMany(t, id, 2);
    const until = inAnHour();
    expect((await client.post(`/notifications/${a.id}/snooze`, { until })).status).toBe(204);
    expect(ids(await client.get('/notifications'))).toStrictEqual([b.id]);
    const snoozed = await client.get('/notifications?status=snoozed');
    expect(ids(snoozed)).toStrictEqual([a.id]);
    expect(snoozed.body.items[0].snoozedUntil).toBe(new Date(until).toISOString());
    const counts = (await client.get('/notifications/unread-count')).body;
    expect(counts).toMatchObject({ total: 1, unseen: 1 });
    expect((await client.post(`/notifications/${a.id}/unsnooze`)).status).toBe(204);
    expect(ids(await client.get('/notifications'))).toStrictEqual([b.id, a.id]);
    expect((await client.get('/notifications/unread-count')).body.total).toBe(2);
  });

  it('snooze refuses a time under 1 minute or over 30 days ahead, and malformed ones, changing nothing', async () => {
    const { client, id } = await signedIn(t, 'states-snooze-bad@example.com');
    const a = await publishTo(t, id);
    for (const until of [
      new Date(Date.now() + 30_000).toISOString(),
      new Date(Date.now() - 3600_000).toISOString(),
      new Date(Date.now() + 31 * 24 * 3600_000).toISOString(),
      'tomorrow',
      '2030-01-01',
      42,
    ]) {
      const res = await client.post(`/notifications/${a.id}/snooze`, { until });
      expect([res.status, until]).toStrictEqual([400, until]);
    }
    expect((await client.post(`/notifications/${a.id}/snooze`, {})).status).toBe(400);
    expect((await client.post(`/notifications/${a.id}/snooze`, { until: inAnHour(), extra: 1 })).status).toBe(400);
    expect(ids(await client.get('/notifications'))).toStrictEqual([a.id]);
    const ok = new Date(Date.now() + 29 * 24 * 3600_000).toISOString();
    expect((await client.post(`/notifications/${a.id}/snooze`, { until: ok })).status).toBe(204);
  });

  it('seen { upTo }: seenAt on the covered ones, unseen counts the rest of the inbox', async () => {
    const { client, id } = await signedIn(t, 'states-seen@example.com');
    const [a, b] = await publishMany(t, id, 3);
    expect((await client.get('/notifications/unread-count')).body).toMatchObject({ total: 3, unseen: 3 });
    expect((await client.post('/notifications/seen', { upTo: b.id })).status).toBe(204);
    const list = (await client.get('/notifications')).body.items;
    expect(list.map((n: { seenAt: string | null }) => n.seenAt !== null)).toStrictEqual([false, true, true]);
    // Seeing is not reading.
    expect((await client.get('/notifications/unread-count')).body).toMatchObject({ total: 3, unseen: 1 });
    // A lower mark later does not unsee anything, nor move the time.
    const seenAt = list[1].seenAt;
    expect((await client.post('/notifications/seen', { upTo: a.id })).status).toBe(204);
    expect((await client.get('/notifications')).body.items[1].seenAt).toBe(seenAt);
    // A mark past every id covers only what exists.
    expect((await client.post('/notifications/seen', { upTo: '999999999999' })).status).toBe(204);
    const d = await publishTo(t, id);
    expect((await client.get('/notifications/unread-count')).body.unseen).toBe(1);
    expect(ids(await client.get('/notifications?limit=1'))).toStrictEqual([d.id]);
    for (const bad of [{}, { upTo: 'x' }, { upTo: '-1' }, { upTo: 5 }]) {
      expect((await client.post('/notifications/seen', bad)).status).toBe(400);
    }
  });

  it('broadcasts keep one row and per-user state', async () => {
    const u1 = await signedIn(t, 'states-bc1@example.com');
    const u2 = await signedIn(t, 'states-bc2@example.com');
    const row = await broadcast(t);
    await u1.client.post(`/notifications/${row.id}/archive`);
    await u1.client.post(`/notifications/${row.id}/read`);
    expect(ids(await u1.client.get('/notifications?status=archived'))).toContain(String(row.id));
    expect(ids(await u2.client.get('/notifications'))).toContain(String(row.id));
    const theirs = (await u2.client.get('/notifications')).body.items.find(
      (n: { id: string }) => n.id === String(row.id),
    );
    expect(theirs).toMatchObject({ archivedAt: null, readAt: null });
    const { rows } = await t.db.query(`SELECT count(*)::int AS n FROM notifications WHERE id = $1`, [row.id]);
    expect(rows[0].n).toBe(1);
  });

  it('every new route answers 404 for another user’s notification and changes nothing', async () => {
    const owner = await signedIn(t, 'states-owner@example.com');
    const other = await signedIn(t, 'states-other@example.com');
    const n = await publishTo(t, owner.id);
    for (const [path, body] of [
      [`/notifications/${n.id}/archive`, undefined],
      [`/notifications/${n.id}/unarchive`, undefined],
      [`/notifications/${n.id}/snooze`, { until: inAnHour() }],
      [`/notifications/${n.id}/unsnooze`, undefined],
      ['/notifications/999999999/archive', undefined],
    ] as const) {
      const res = await other.client.post(path, body);
      expect([path, res.status]).toStrictEqual([path, 404]);
    }
    // Bulk by ids skips what is not theirs.
    for (const action of ['read', 'unread', 'archive', 'unarchive']) {
      const res = await other.client.post('/notifications/bulk', { action, ids: [String(n.id)] });
      expect([action, res.status, res.body]).toStrictEqual([action, 200, { count: 0 }]);
    }
    // Their own seen mark covers nothing of the owner's.
    await other.client.post('/notifications/seen', { upTo: String(n.id) });
    const mine = (await owner.client.get('/notifications')).body.items[0];
    expect(mine).toMatchObject({ id: String(n.id), readAt: null, seenAt: null, archivedAt: null, snoozedUntil: null });
    const { rows } = await t.db.query(
      `SELECT (SELECT count(*) FROM notification_states WHERE notification_id = $1)::int
            + (SELECT count(*) FROM notification_reads WHERE notification_id = $1)::int AS n`,
      [n.id],
    );
    expect(rows[0].n).toBe(0);
  });
});

describe('bulk', () => {
  async function userWith(email: string, n: number) {
    const u = await signedIn(t, email);
    const rows = await publishMany(t, u.id, n);
    return { ...u, ids: rows.map((r) => String(r.id)) };
  }

  it('read, unread, archive and unarchive by ids answer how many changed', async () => {
    const u = await userWith('bulk-ids@example.com', 4);
    const [a, b, c] = u.ids;
    const post = (action: string, ids: string[]) => u.client.post('/notifications/bulk', { action, ids });
    expect((await post('read', [a, b])).body).toStrictEqual({ count: 2 });
    expect((await post('read', [a, b, c])).body).toStrictEqual({ count: 1 });
    expect((await u.client.get('/notifications/unread-count')).body.total).toBe(1);
    expect((await post('unread', [a])).body).toStrictEqual({ count: 1 });
    expect((await u.client.get('/notifications/unread-count')).body.total).toBe(2);
    expect((await post('archive', [a, b])).body).toStrictEqual({ count: 2 });
    expect(ids(await u.client.get('/notifications?status=archived'))).toStrictEqual([b, a]);
    expect((await post('unarchive', [a, b, c])).body).toStrictEqual({ count: 2 });
    expect((await u.client.get('/notifications?status=archived')).body.items).toStrictEqual([]);
  });

  it('unread overrides a mark-all-read, and a later mark-all reads it again', async () => {
    const u = await userWith('bulk-unread-mark@example.com', 3);
    await u.client.post('/notifications/read-all', {});
    expect((await u.client.get('/notifications/unread-count')).body.total).toBe(0);
    expect((await u.client.post('/notifications/bulk', { action: 'unread', ids: [u.ids[1]] })).body).toStrictEqual({
      count: 1,
    });
    expect(ids(await u.client.get('/notifications?status=unread'))).toStrictEqual([u.ids[1]]);
    await u.client.post('/notifications/read-all', {});
    expect((await u.client.get('/notifications/unread-count')).body.total).toBe(0);
  });

  it('by filter: channel and before', async () => {
    const u = await signedIn(t, 'bulk-filter@example.com');
    const orders = await publishMany(t, u.id, 3);
    const pay = await publishTo(t, u.id, { channel: 'payment', type: 'payment.pending' });
    const later = await publishTo(t, u.id);
    const res = await u.client.post('/notifications/bulk', {
      action: 'read',
      filter: { channel: 'order', before: String(later.id) },
    });
    expect(res.status).toBe(200);
    expect(res.body).toStrictEqual({ count: 3 });
    expect(ids(await u.client.get('/notifications?status=unread'))).toStrictEqual([later.id, pay.id]);
    const arch = await u.client.post('/notifications/bulk', { action: 'archive', filter: { channel: 'order' } });
    expect(arch.body).toStrictEqual({ count: 4 });
    expect(ids(await u.client.get('/notifications'))).toStrictEqual([pay.id]);
    const un = await u.client.post('/notifications/bulk', { action: 'unarchive', filter: { before: orders[2].id } });
    expect(un.body).toStrictEqual({ count: 2 });
    const unread = await u.client.post('/notifications/bulk', { action: 'unread', filter: {} });
    expect(unread.body).toStrictEqual({ count: 3 });
  });

  it('refuses bad bodies with 400 and changes nothing', async () => {
    const u = await userWith('bulk-bad@example.com', 1);
    const tooMany = Array.from({ length: 1001 }, (_, i) => String(i + 1));
    for (const body of [
      { action: 'read' },
      { action: 'read', ids: u.ids, filter: {} },
      { action: 'delete', ids: u.ids },
      { action: 'read', ids: [] },
      { action: 'read', ids: tooMany },
      { action: 'read', ids: ['x'] },
      { action: 'read', filter: { channel: 'nope' } },
      { action: 'read', filter: { before: 'x' } },
      { action: 'read', filter: { extra: 1 } },
    ]) {
      const res = await u.client.post('/notifications/bulk', body);
      expect([res.status, body]).toStrictEqual([400, body]);
    }
    expect((await u.client.get('/notifications/unread-count')).body.total).toBe(1);
  });

  it('other tabs get event: read for reads and event: state for the rest, with the cursor as id', async () => {
    const u = await userWith('bulk-tabs@example.com', 2);
    const other = await signedIn(t, 'bulk-tabs-other@example.com');
    const tab1 = await liveStream(t, u.client);
    const tab2 = await liveStream(t, u.client);
    const stranger = await liveStream(t, other.client);
    const cursor = tab1.lastId;
    try {
      await u.client.post('/notifications/bulk', { action: 'read', ids: u.ids });
      await u.client.post('/notifications/bulk', { action: 'archive', ids: [u.ids[0]] });
      await u.client.post('/notifications/bulk', { action: 'unarchive', filter: { channel: 'order' } });
      await u.client.post('/notifications/bulk', { action: 'read', filter: { before: u.ids[1] } });
      await u.client.post(`/notifications/${u.ids[1]}/snooze`, { until: inAnHour() });
      const expected = [
        { event: 'read', id: cursor, data: { ids: u.ids } },
        { event: 'state', id: cursor, data: { ids: [u.ids[0]], change: 'archive' } },
        { event: 'state', id: cursor, data: { filter: { channel: 'order' }, change: 'unarchive' } },
        { event: 'read', id: cursor, data: { all: true, before: u.ids[1] } },
        { event: 'state', id: cursor, data: { ids: [u.ids[1]], change: 'snooze' } },
      ];
      for (const tab of [tab1, tab2]) {
        await tab.until(() => stateEvents(tab).length >= 5, '5 state events');
        expect(stateEvents(tab)).toStrictEqual(expected);
      }
      expect(stateEvents(stranger)).toStrictEqual([]);
    } finally {
      for (const s of [tab1, tab2, stranger]) s.close();
    }
  });
});
