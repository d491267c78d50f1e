import { AsyncLocalStorage } from 'node:async_hooks';
import { describe, expect, it } from '@jest/globals';
import { DataSource } from 'typeorm';
import { TransactionRunner } from '../src/database/transaction.js';
import { NotificationPublisher } from '../src/notifications/notification.publisher.js';
import { sharedTestApp } from './support/app.js';
import { nextIdIs, nextPartitionStart } from './support/partitions.js';
import { idsInDatabaseFor, publishMany, publishTo } from './support/publish.js';
import { DEFAULT_CHANNELS } from './support/registry.js';
import { openStream, SseConnection } from './support/sse.js';
import { signedIn } from './support/shop.js';

const t = sharedTestApp({ HEARTBEAT_MS: '300', RETRY_MS: '2500', MAX_STREAMS_PER_USER: '3' });

const newestId = async () =>
  (await t.db.query(`SELECT COALESCE(max(id), 0)::text AS m FROM notifications`)).rows[0].m as string;

describe('stream bytes', () => {
  it('answers with SSE headers and a ready event at once', async () => {
    const { client: c } = await signedIn(t, 'bytes@example.com');
    const cursor = await newestId();
    const s = await openStream(t.baseUrl, c.cookieHeader);
    try {
      expect(s.status).toBe(200);
      expect(s.headers['content-type']).toBe('text/event-stream');
      expect(String(s.headers['cache-control'])).toMatch(/no-cache/);
      expect(String(s.headers['cache-control'])).toMatch(/no-transform/);
      expect(s.headers['x-accel-buffering']).toBe('no');
      expect(s.headers['content-encoding']).toBe(undefined);
      const ready = await s.waitForEvent('ready');
      expect(ready.id).toBe(cursor);
      expect(JSON.parse(ready.data)).toStrictEqual({ cursor });
      expect(s.retry).toBe(2500);
      // The exact frame: retry, id, event and data lines, then a blank line.
      const frame = s.raw.slice(s.raw.indexOf('event: ready') - 0).split('\n\n')[0];
      expect(frame.split('\n').sort()).toStrictEqual(
        [`data: {"cursor":"${cursor}"}`, 'event: ready', `id: ${cursor}`, 'retry: 2500'].sort(),
      );
    } finally {
      s.close();
    }
  });

  it('frames a notification as id / event <channel> / one data line of the notification JSON', async () => {
    const { client: c, id } = await signedIn(t, 'frame@example.com');
    const s = await openStream(t.baseUrl, c.cookieHeader);
    try {
      await s.waitForEvent('ready');
      const row = await publishTo(t, id, {
        channel: 'payment',
        type: 'payment.pending',
        title: 'Payment pending',
        data: { orderId: '7' },
      });
      await s.waitForNotifications(1);
      const e = s.notifications[0];
      expect(e.event).toBe('payment');
      expect(e.id).toBe(String(row.id));
      const json = JSON.parse(e.data);
      expect(Object.keys(json).sort()).toStrictEqual([
        'actions',
        'archivedAt',
        'body',
        'channel',
        'createdAt',
        'data',
        'id',
        'readAt',
        'seenAt',
        'severity',
        'snoozedUntil',
        'title',
        'type',
      ]);
      expect(json.id).toBe(String(row.id));
      expect(json.channel).toBe('payment');
      expect(json.type).toBe('payment.pending');
      expect(json.readAt).toBe(null);
      expect(json.data).toStrictEqual({ orderId: '7' });
      const raw = s.raw.slice(s.raw.indexOf(`id: ${row.id}\n`) - 'event: payment\n'.length);
      expect(raw).toMatch(new RegExp(`^event: payment\\nid: ${row.id}\\ndata: \\{[^\\n]*\\}\\n\\n`));
    } finally {
      s.close();
    }
  });

  it('sends ": ping" heartbeats from the shared timer', async () => {
    const { client: c } = await signedIn(t, 'ping@example.com');
    const s = await openStream(t.baseUrl, c.cookieHeader);
    try {
      await s.until(() => s.comments.filter((x) => x.trim() === 'ping').length >= 2, 'two pings', 5000);
      expect(s.raw).toMatch(/\n: ping\n\n/);
    } finally {
      s.close();
    }
  });

  it('read events carry the stream cursor as their id, so they never move the position', async () => {
    const { client: c, id } = await signedIn(t, 'readevt@example.com');
    const s1 = await openStream(t.baseUrl, c.cookieHeader);
    const s2 = await openStream(t.baseUrl, c.cookieHeader);
    try {
      await s1.waitForEvent('ready');
      await s2.waitForEvent('ready');
      const row = await publishTo(t, id);
      await s1.waitForNotifications(1);
      await s2.waitForNotifications(1);
      expect((await c.post(`/notifications/${row.id}/read`)).status).toBe(204);
      const read1 = await s1.waitForEvent('read');
      const read2 = await s2.waitForEvent('read');
      expect(JSON.parse(read1.data)).toStrictEqual({ ids: [String(row.id)] });
      expect(read1.id).toBe(String(row.id)); // the cursor is the last notification id
      expect(read2.id).toBe(String(row.id));
      expect((await c.post('/notifications/read-all', { channel: 'order' })).status).toBe(204);
      await s1.until(() => s1.events.filter((e) => e.event === 'read').length === 2, 'second read event');
      const all = s1.events.filter((e) => e.event === 'read')[1];
      expect(JSON.parse(all.data)).toStrictEqual({ all: true, channel: 'order' });
      expect(all.id).toBe(String(row.id));
    } finally {
      s1.close();
      s2.close();
    }
  });

  it('user-supplied bytes cannot end a field or an event early', async () => {
    const { client: c, id } = await signedIn(t, 'inject@example.com');
    const nasty = [
      'line1\nline2',
      'cr\rcr',
      'crlf\r\ncrlf',
      'sep\u2028and\u2029',
      'event: x',
      'data: y',
      'id: 9',
      '\n: comment\n\nevent: evil\ndata: {}\n\n',
      ':starts with colon',
      'x'.repeat(100_000),
      'emoji 🎉 and 𝄞 non-BMP',
    ];
    const s = await openStream(t.baseUrl, c.cookieHeader);
    try {
      await s.waitForEvent('ready');
      for (const text of nasty) {
        await publishTo(t, id, { title: text.slice(0, 200), body: text, data: { text, [text.slice(0, 50)]: 'key' } });
      }
      await s.waitForNotifications(nasty.length);
      expect(s.events.filter((e) => !['ready', 'order'].includes(e.event)).length).toBe(0); // no injected event
      s.notifications.forEach((e, i) => {
        const json = JSON.parse(e.data);
        expect(json.body).toBe(nasty[i]);
        expect(json.title).toBe(nasty[i].slice(0, 200));
        expect(json.data.text).toBe(nasty[i]);
      });
    } finally {
      s.close();
    }
  });
});

describe('replay with Last-Event-ID', () => {
  it('after a disconnect, exactly the 500 missed notifications, in order', async () => {
    const { client: c, id } = await signedIn(t, 'replay@example.com');
    const s = await openStream(t.baseUrl, c.cookieHeader);
    const first = await publishTo(t, id);
    await s.waitForNotifications(1);
    const last = s.lastId!;
    expect(last).toBe(String(first.id));
    s.close();
    const missed = await publishMany(t, id, 500);
    const r = await openStream(t.baseUrl, c.cookieHeader, { lastEventId: last });
    try {
      const ready = await r.waitForEvent('ready');
      expect(ready.id).toBe(last);
      await r.waitForNotifications(500);
      expect(r.notifications.map((e) => e.id)).toStrictEqual(missed.map((m) => String(m.id)));
      const live = await publishTo(t, id);
      await r.waitForNotifications(501);
      expect(r.notifications[500].id).toBe(String(live.id));
    } finally {
      r.close();
    }
  });

  it('query lastEventId works when the header is absent; the header wins over it', async () => {
    const { client: c, id } = await signedIn(t, 'query@example.com');
    const rows = await publishMany(t, id, 3);
    const q = await openStream(t.baseUrl, c.cookieHeader, { query: `lastEventId=${rows[0].id}` });
    const h = await openStream(t.baseUrl, c.cookieHeader, {
      query: `lastEventId=${rows[0].id}`,
      lastEventId: String(rows[1].id),
    });
    try {
      await q.waitForNotifications(2);
      expect(q.notifications.map((e) => e.id)).toStrictEqual([String(rows[1].id), String(rows[2].id)]);
      await h.waitForNotifications(1);
      await h.waitForEvent('ready');
      expect(h.notifications.map((e) => e.id)).toStrictEqual([String(rows[2].id)]);
    } finally {
      q.close();
      h.close();
    }
  });

  it('reconnecting while writers publish continuously: the union equals the database, no duplicate, ascending', async () => {
    const { client: c, id } = await signedIn(t, 'churn@example.com');
    let publishing = true;
    const writers = Array.from({ length: 4 }, async () => {
      while (publishing) await publishTo(t, id);
    });
    const seen: string[] = [];
    let lastId: string | undefined;
    for (let round = 0; round < 8; round++) {
      const s = await openStream(t.baseUrl, c.cookieHeader, lastId ? { lastEventId: lastId } : { lastEventId: '0' });
      await s.waitForEvent('ready');
      await s.until(() => s.notifications.length >= 20, 'some notifications');
      s.close();
      seen.push(...s.notifications.map((e) => e.id!));
      lastId = s.lastId;
    }
    publishing = false;
    await Promise.all(writers);
    const s = await openStream(t.baseUrl, c.cookieHeader, { lastEventId: lastId! });
    const expected = await idsInDatabaseFor(t, id);
    await s.until(() => seen.length + s.notifications.length >= expected.length, 'the rest');
    seen.push(...s.notifications.map((e) => e.id!));
    s.close();
    expect(new Set(seen).size).toBe(seen.length); // no duplicate
    expect(seen).toStrictEqual([...seen].sort((a, b) => Number(a) - Number(b))); // ascending
    expect(seen).toStrictEqual(expected);
  });

  it('a Last-Event-ID newer than any id: ready at the newest id, then reset unknown-cursor', async () => {
    const { client: c } = await signedIn(t, 'future@example.com');
    const newest = await newestId();
    const s = await openStream(t.baseUrl, c.cookieHeader, { lastEventId: '9223372036854775807' });
    try {
      await s.waitForEvent('reset');
      expect(s.events.slice(0, 2).map((e) => [e.event, e.id])).toStrictEqual([
        ['ready', newest],
        ['reset', newest],
      ]);
      expect(JSON.parse(s.events[0].data)).toStrictEqual({ cursor: newest });
      expect(JSON.parse(s.events[1].data)).toStrictEqual({ reason: 'unknown-cursor' });
    } finally {
      s.close();
    }
  });

  it('a Last-Event-ID older than what is kept: reset history-truncated, then what is kept', async () => {
    const { client: c, id } = await signedIn(t, 'retention@example.com');
    // Retention drops whole partitions: the two old ones end theirs, the third opens the next.
    const old = await publishMany(t, id, 2);
    const boundary = await nextPartitionStart(t);
    await nextIdIs(t, boundary);
    old.push(await publishTo(t, id));
    await t.db.query(`UPDATE notifications SET created_at = now() - interval '100 days' WHERE id < $1`, [boundary]);
    const { RetentionService } = await import('../src/notifications/retention.service.js');
    expect((await t.app.get(RetentionService).run(90)).length).toBeGreaterThan(0);
    const s = await openStream(t.baseUrl, c.cookieHeader, { lastEventId: '0' });
    try {
      await s.waitForEvent('reset');
      expect(s.events[1].event).toBe('reset');
      expect(s.events[1].id).toBe('0');
      expect(JSON.parse(s.events[1].data)).toStrictEqual({ reason: 'history-truncated' });
      await s.waitForNotifications(1);
      expect(s.notifications[0].id).toBe(String(old[2].id));
    } finally {
      s.close();
    }
  });
});

describe('commit order', () => {
  it('a writer holding its transaction open delays later writers; ids become visible in order', async () => {
    const { client: c, id } = await signedIn(t, 'order@example.com');
    const s = await openStream(t.baseUrl, c.cookieHeader);
    await s.waitForEvent('ready');
    const publisher = t.app.get(NotificationPublisher);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let firstId = '';
    const slow = t.app.get(TransactionRunner).run(async (tx) => {
      const [row] = await publisher.publish(tx, [
        { userId: id, channel: 'order', type: 'order.placed', severity: 'info', title: 'slow', body: '', data: {} },
      ]);
      firstId = String(row.id);
      await gate;
    });
    await waitUntil(async () => firstId !== '', 'the slow writer inserted');
    const fast = publishTo(t, id, { title: 'fast' });
    // The fast writer is blocked on the id lock, not committed ahead of the slow one.
    await waitUntil(
      async () =>
        (await t.db.query(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`)).rowCount! > 0,
      'the fast writer waits for the id lock',
    );
    expect((await t.db.query(`SELECT count(*)::int AS n FROM notifications WHERE user_id = $1`, [id])).rows[0].n).toBe(
      0,
    );
    release();
    await slow;
    const fastRow = await fast;
    expect(Number(fastRow.id) > Number(firstId)).toBeTruthy(); // the later commit has the larger id
    await s.waitForNotifications(2);
    expect(s.notifications.map((e) => JSON.parse(e.data).title)).toStrictEqual(['slow', 'fast']);
    s.close();
  });
});

describe('group commit', () => {
  it('100 notifications sent at once go out as one statement, with no transaction around it', async () => {
    const { id } = await signedIn(t, 'group@example.com');
    const db = t.app.get(DataSource);
    const runner = t.app.get(TransactionRunner);
    const query = db.query.bind(db);
    const run = runner.run.bind(runner);
    let inserts = 0;
    let transactions = 0;
    db.query = ((sql: string, ...rest: unknown[]) => {
      if (sql.includes('INSERT INTO notifications')) inserts++;
      return (query as (...a: unknown[]) => unknown)(sql, ...rest);
    }) as typeof db.query;
    // Only transactions started on the publishing call path: the app's timers (the snooze
    // wake-up scan, the escalation scan) run theirs outside it, whenever they fall due.
    const publishing = new AsyncLocalStorage<true>();
    runner.run = ((fn: never) => {
      if (publishing.getStore()) transactions++;
      return run(fn);
    }) as typeof runner.run;
    try {
      const rows = await publishing.run(true, () => publishMany(t, id, 100));
      expect(rows.map((r) => r.title)).toStrictEqual(Array.from({ length: 100 }, (_, i) => `n${i}`));
      expect(inserts).toBe(1);
      expect(transactions).toBe(0);
      expect(await idsInDatabaseFor(t, id)).toStrictEqual(rows.map((r) => String(r.id)));
    } finally {
      db.query = query;
      runner.run = run;
    }
  });
});

describe('channels, preferences and limits', () => {
  it('?channels narrows the stream', async () => {
    const { client: c, id } = await signedIn(t, 'narrow@example.com');
    const s = await openStream(t.baseUrl, c.cookieHeader, { channels: 'payment' });
    try {
      await s.waitForEvent('ready');
      await publishTo(t, id, { channel: 'order' });
      const p = await publishTo(t, id, { channel: 'payment', type: 'payment.pending' });
      await s.waitForNotifications(1);
      expect(s.notifications.map((e) => e.id)).toStrictEqual([String(p.id)]);
    } finally {
      s.close();
    }
  });

  it('muted channels are neither streamed nor replayed, except critical ones', async () => {
    const { client: c, id } = await signedIn(t, 'mute@example.com');
    const put = await c.put('/preferences', { channels: { order: false } });
    expect(put.status).toBe(200);
    expect(put.body.channels).toStrictEqual({ ...DEFAULT_CHANNELS, order: false });
    expect((await c.get('/preferences')).body).toStrictEqual(put.body);
    const s = await openStream(t.baseUrl, c.cookieHeader, { lastEventId: '0' });
    await s.waitForEvent('ready');
    await publishTo(t, id, { channel: 'order', title: 'muted' });
    const crit = await publishTo(t, id, { channel: 'order', severity: 'critical', title: 'critical' });
    const pay = await publishTo(t, id, { channel: 'payment', title: 'payment' });
    await s.waitForNotifications(2);
    expect(s.notifications.map((e) => e.id)).toStrictEqual([String(crit.id), String(pay.id)]);
    s.close();
    const r = await openStream(t.baseUrl, c.cookieHeader, { lastEventId: '0' });
    await r.waitForNotifications(2);
    expect(r.notifications.map((e) => e.id)).toStrictEqual([String(crit.id), String(pay.id)]);
    r.close();
  });

  it('past MAX_STREAMS_PER_USER the next stream is 429 JSON; closing one frees a slot', async () => {
    const { client: c } = await signedIn(t, 'limit@example.com');
    const open = [];
    for (let i = 0; i < 3; i++) open.push(await openStream(t.baseUrl, c.cookieHeader));
    await Promise.all(open.map((s) => s.waitForEvent('ready')));
    const denied = await openStream(t.baseUrl, c.cookieHeader);
    expect(denied.status).toBe(429);
    expect(JSON.parse(denied.body).statusCode).toBe(429);
    open[0].close();
    await waitUntil(async () => {
      const s = await openStream(t.baseUrl, c.cookieHeader);
      s.close();
      return s.status === 200;
    }, 'a freed slot');
    open.slice(1).forEach((s) => s.close());
  });

  it("logout ends the session's open streams, and the reconnect is 401", async () => {
    const { client: c } = await signedIn(t, 'logout@example.com');
    const cookie = c.cookieHeader;
    const s = await openStream(t.baseUrl, cookie);
    await s.waitForEvent('ready');
    expect((await c.post('/auth/logout')).status).toBe(204);
    await s.waitForEnd();
    const again = await openStream(t.baseUrl, cookie);
    expect(again.status).toBe(401);
  });
});

describe('bad input', () => {
  it('malformed Last-Event-ID, unknown channel: 400 JSON, no stream', async () => {
    const { client: c } = await signedIn(t, 'bad@example.com');
    for (const bad of [
      'abc',
      '-1',
      '12345678901234567890',
      '9223372036854775808',
      '1 OR 1=1',
      '1.5',
      '0x10',
      '1e3',
      '',
    ]) {
      const s = await openStream(t.baseUrl, c.cookieHeader, { lastEventId: bad });
      expect(s.status).toBe(400); // `Last-Event-ID ${JSON.stringify(bad)}`
      expect(s.headers['content-type']?.startsWith('application/json')).toBe(true);
      expect(JSON.parse(s.body).statusCode).toBe(400);
    }
    for (const query of ['lastEventId=abc', 'lastEventId=%201', 'lastEventId=1&lastEventId=2']) {
      const q = await openStream(t.baseUrl, c.cookieHeader, { query });
      expect(q.status).toBe(400); // query
    }
    for (const channels of ['sms', 'order,sms', '', 'order,']) {
      const s = await openStream(t.baseUrl, c.cookieHeader, { channels });
      expect(s.status).toBe(400); // `channels=${channels}`
      expect(JSON.parse(s.body).message).toMatch(/Unknown channel/);
    }
    expect((await c.get('/auth/me')).status).toBe(200); // server unaffected
  });

  it('without a session the stream is 401 JSON', async () => {
    const s = await SseConnection.open(`${t.baseUrl}/notifications/stream`);
    expect(s.status).toBe(401);
    expect(JSON.parse(s.body)).toStrictEqual({ statusCode: 401, message: 'Authentication required' });
  });

  it("inbox: the contract's own query, GET /notifications?limit=20&before=<id>&channel=&unread=true, with blanks left blank", async () => {
    const { client: c, id } = await signedIn(t, 'blanks@example.com');
    const order = await publishTo(t, id);
    const payment = await publishTo(t, id, { channel: 'payment', type: 'payment.pending' });
    const ids = (q: string) =>
      c.get(`/notifications?${q}`).then((r) => [r.status, r.body.items?.map((n: { id: string }) => n.id)]);
    // A blank parameter is an absent one: no channel filter, the first page, the default limit.
    const all = [200, [payment.id, order.id]];
    expect(await ids('limit=20&before=&channel=&unread=true')).toStrictEqual(all);
    expect(await ids('channel=')).toStrictEqual(all);
    expect(await ids('limit=&before=&unread=&status=')).toStrictEqual(all);
    expect(await ids(`limit=20&before=${payment.id}&channel=&unread=true`)).toStrictEqual([200, [order.id]]);
    expect(await ids('channel=payment&unread=')).toStrictEqual([200, [payment.id]]);
  });

  it('inbox: limit 0 / 1000 / text, bad before, unknown channel, non-numeric ids: 400', async () => {
    const { client: c } = await signedIn(t, 'badinbox@example.com');
    for (const q of ['limit=0', 'limit=1000', 'limit=abc', 'before=abc', 'before=-1', 'channel=sms', 'unread=maybe']) {
      const res = await c.get(`/notifications?${q}`);
      expect(res.status).toBe(400); // q
      expect(res.body.statusCode).toBe(400);
    }
    for (const idText of ['abc', '0', '-1', '1.5', '99999999999999999999']) {
      const res = await c.post(`/notifications/${idText}/read`);
      expect(res.status).toBe(400); // idText
    }
    expect((await c.post('/notifications/read-all', { channel: 'sms' })).status).toBe(400);
    expect((await c.post('/notifications/read-all', { extra: 1 })).status).toBe(400);
    expect((await c.put('/preferences', { channels: { sms: false } })).status).toBe(400);
    expect((await c.put('/preferences', { channels: { order: 'no' } })).status).toBe(400);
  });
});

async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
