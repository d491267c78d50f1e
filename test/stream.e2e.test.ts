import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TransactionRunner } from '../src/database/transaction.js';
import { NotificationPublisher } from '../src/notifications/notification.publisher.js';
import { startTestApp, type TestApp } from './support/app.js';
import { Client } from './support/http.js';
import { idsInDatabaseFor, publishMany, publishTo } from './support/publish.js';
import { openStream, SseConnection } from './support/sse.js';

let t: TestApp;
before(async () => {
  t = await startTestApp({ HEARTBEAT_MS: '300', RETRY_MS: '2500', MAX_STREAMS_PER_USER: '3' });
});
after(async () => {
  await t.close();
});

async function user(email: string): Promise<{ c: Client; id: string }> {
  const c = new Client(t.baseUrl);
  const u = await c.signUp(email);
  return { c, id: u.id };
}

const newestId = async () =>
  (await t.db.query(`SELECT COALESCE(max(id), 0)::text AS m FROM notifications`)).rows[0].m as string;

describe('stream bytes', () => {
  it('answers with SSE headers and a ready event at once', async () => {
    const { c } = await user('bytes@example.com');
    const cursor = await newestId();
    const s = await openStream(t.baseUrl, c.cookieHeader);
    try {
      assert.equal(s.status, 200);
      assert.equal(s.headers['content-type'], 'text/event-stream');
      assert.match(String(s.headers['cache-control']), /no-cache/);
      assert.match(String(s.headers['cache-control']), /no-transform/);
      assert.equal(s.headers['x-accel-buffering'], 'no');
      assert.equal(s.headers['content-encoding'], undefined);
      const ready = await s.waitForEvent('ready');
      assert.equal(ready.id, cursor);
      assert.deepEqual(JSON.parse(ready.data), { cursor });
      assert.equal(s.retry, 2500);
      // The exact frame: retry, id, event and data lines, then a blank line.
      const frame = s.raw.slice(s.raw.indexOf('event: ready') - 0).split('\n\n')[0];
      assert.deepEqual(
        frame.split('\n').sort(),
        [`data: {"cursor":"${cursor}"}`, 'event: ready', `id: ${cursor}`, 'retry: 2500'].sort(),
      );
    } finally {
      s.close();
    }
  });

  it('frames a notification as id / event <channel> / one data line of the notification JSON', async () => {
    const { c, id } = await user('frame@example.com');
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
      assert.equal(e.event, 'payment');
      assert.equal(e.id, String(row.id));
      const json = JSON.parse(e.data);
      assert.deepEqual(Object.keys(json).sort(), [
        'body',
        'channel',
        'createdAt',
        'data',
        'id',
        'readAt',
        'severity',
        'title',
        'type',
      ]);
      assert.equal(json.id, String(row.id));
      assert.equal(json.channel, 'payment');
      assert.equal(json.type, 'payment.pending');
      assert.equal(json.readAt, null);
      assert.deepEqual(json.data, { orderId: '7' });
      const raw = s.raw.slice(s.raw.indexOf(`id: ${row.id}\n`) - 'event: payment\n'.length);
      assert.match(raw, new RegExp(`^event: payment\\nid: ${row.id}\\ndata: \\{[^\\n]*\\}\\n\\n`));
    } finally {
      s.close();
    }
  });

  it('sends ": ping" heartbeats from the shared timer', async () => {
    const { c } = await user('ping@example.com');
    const s = await openStream(t.baseUrl, c.cookieHeader);
    try {
      await s.until(() => s.comments.filter((x) => x.trim() === 'ping').length >= 2, 'two pings', 5000);
      assert.match(s.raw, /\n: ping\n\n/);
    } finally {
      s.close();
    }
  });

  it('read events carry the stream cursor as their id, so they never move the position', async () => {
    const { c, id } = await user('readevt@example.com');
    const s1 = await openStream(t.baseUrl, c.cookieHeader);
    const s2 = await openStream(t.baseUrl, c.cookieHeader);
    try {
      await s1.waitForEvent('ready');
      await s2.waitForEvent('ready');
      const row = await publishTo(t, id);
      await s1.waitForNotifications(1);
      await s2.waitForNotifications(1);
      assert.equal((await c.post(`/notifications/${row.id}/read`)).status, 204);
      const read1 = await s1.waitForEvent('read');
      const read2 = await s2.waitForEvent('read');
      assert.deepEqual(JSON.parse(read1.data), { ids: [String(row.id)] });
      assert.equal(read1.id, String(row.id), 'the cursor is the last notification id');
      assert.equal(read2.id, String(row.id));
      assert.equal((await c.post('/notifications/read-all', { channel: 'order' })).status, 204);
      await s1.until(() => s1.events.filter((e) => e.event === 'read').length === 2, 'second read event');
      const all = s1.events.filter((e) => e.event === 'read')[1];
      assert.deepEqual(JSON.parse(all.data), { all: true, channel: 'order' });
      assert.equal(all.id, String(row.id));
    } finally {
      s1.close();
      s2.close();
    }
  });

  it('user-supplied bytes cannot end a field or an event early', async () => {
    const { c, id } = await user('inject@example.com');
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
      assert.equal(s.events.filter((e) => !['ready', 'order'].includes(e.event)).length, 0, 'no injected event');
      s.notifications.forEach((e, i) => {
        const json = JSON.parse(e.data);
        assert.equal(json.body, nasty[i]);
        assert.equal(json.title, nasty[i].slice(0, 200));
        assert.equal(json.data.text, nasty[i]);
      });
    } finally {
      s.close();
    }
  });
});

describe('replay with Last-Event-ID', () => {
  it('after a disconnect, exactly the 500 missed notifications, in order', async () => {
    const { c, id } = await user('replay@example.com');
    const s = await openStream(t.baseUrl, c.cookieHeader);
    const first = await publishTo(t, id);
    await s.waitForNotifications(1);
    const last = s.lastId!;
    assert.equal(last, String(first.id));
    s.close();
    const missed = await publishMany(t, id, 500);
    const r = await openStream(t.baseUrl, c.cookieHeader, { lastEventId: last });
    try {
      const ready = await r.waitForEvent('ready');
      assert.equal(ready.id, last);
      await r.waitForNotifications(500);
      assert.deepEqual(
        r.notifications.map((e) => e.id),
        missed.map((m) => String(m.id)),
      );
      const live = await publishTo(t, id);
      await r.waitForNotifications(501);
      assert.equal(r.notifications[500].id, String(live.id));
    } finally {
      r.close();
    }
  });

  it('query lastEventId works when the header is absent; the header wins over it', async () => {
    const { c, id } = await user('query@example.com');
    const rows = await publishMany(t, id, 3);
    const q = await openStream(t.baseUrl, c.cookieHeader, { query: `lastEventId=${rows[0].id}` });
    const h = await openStream(t.baseUrl, c.cookieHeader, {
      query: `lastEventId=${rows[0].id}`,
      lastEventId: String(rows[1].id),
    });
    try {
      await q.waitForNotifications(2);
      assert.deepEqual(
        q.notifications.map((e) => e.id),
        [String(rows[1].id), String(rows[2].id)],
      );
      await h.waitForNotifications(1);
      await h.waitForEvent('ready');
      assert.deepEqual(
        h.notifications.map((e) => e.id),
        [String(rows[2].id)],
      );
    } finally {
      q.close();
      h.close();
    }
  });

  it('reconnecting while writers publish continuously: the union equals the database, no duplicate, ascending', async () => {
    const { c, id } = await user('churn@example.com');
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
    assert.equal(new Set(seen).size, seen.length, 'no duplicate');
    assert.deepEqual(
      seen,
      [...seen].sort((a, b) => Number(a) - Number(b)),
      'ascending',
    );
    assert.deepEqual(seen, expected);
  });

  it('a Last-Event-ID newer than any id: ready at the newest id, then reset unknown-cursor', async () => {
    const { c } = await user('future@example.com');
    const newest = await newestId();
    const s = await openStream(t.baseUrl, c.cookieHeader, { lastEventId: '9223372036854775807' });
    try {
      await s.waitForEvent('reset');
      assert.deepEqual(
        s.events.slice(0, 2).map((e) => [e.event, e.id]),
        [
          ['ready', newest],
          ['reset', newest],
        ],
      );
      assert.deepEqual(JSON.parse(s.events[0].data), { cursor: newest });
      assert.deepEqual(JSON.parse(s.events[1].data), { reason: 'unknown-cursor' });
    } finally {
      s.close();
    }
  });

  it('a Last-Event-ID older than what is kept: reset history-truncated, then what is kept', async () => {
    const { c, id } = await user('retention@example.com');
    const old = await publishMany(t, id, 3);
    await t.db.query(
      `UPDATE notifications SET created_at = now() - interval '100 days' WHERE id = ANY ($1::bigint[])`,
      [old.slice(0, 2).map((r) => r.id)],
    );
    const { RetentionService } = await import('../src/notifications/retention.service.js');
    assert.ok((await t.app.get(RetentionService).run(90)) >= 2);
    const s = await openStream(t.baseUrl, c.cookieHeader, { lastEventId: '0' });
    try {
      await s.waitForEvent('reset');
      assert.equal(s.events[1].event, 'reset');
      assert.equal(s.events[1].id, '0');
      assert.deepEqual(JSON.parse(s.events[1].data), { reason: 'history-truncated' });
      await s.waitForNotifications(1);
      assert.equal(s.notifications[0].id, String(old[2].id));
    } finally {
      s.close();
    }
  });
});

describe('commit order', () => {
  it('a writer holding its transaction open delays later writers; ids become visible in order', async () => {
    const { c, id } = await user('order@example.com');
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
    assert.equal(
      (await t.db.query(`SELECT count(*)::int AS n FROM notifications WHERE user_id = $1`, [id])).rows[0].n,
      0,
    );
    release();
    await slow;
    const fastRow = await fast;
    assert.ok(Number(fastRow.id) > Number(firstId), 'the later commit has the larger id');
    await s.waitForNotifications(2);
    assert.deepEqual(
      s.notifications.map((e) => JSON.parse(e.data).title),
      ['slow', 'fast'],
    );
    s.close();
  });
});

describe('channels, preferences and limits', () => {
  it('?channels narrows the stream', async () => {
    const { c, id } = await user('narrow@example.com');
    const s = await openStream(t.baseUrl, c.cookieHeader, { channels: 'payment' });
    try {
      await s.waitForEvent('ready');
      await publishTo(t, id, { channel: 'order' });
      const p = await publishTo(t, id, { channel: 'payment', type: 'payment.pending' });
      await s.waitForNotifications(1);
      assert.deepEqual(
        s.notifications.map((e) => e.id),
        [String(p.id)],
      );
    } finally {
      s.close();
    }
  });

  it('muted channels are neither streamed nor replayed, except critical ones', async () => {
    const { c, id } = await user('mute@example.com');
    const put = await c.put('/preferences', { channels: { order: false } });
    assert.equal(put.status, 200);
    assert.deepEqual(put.body, { channels: { order: false, payment: true, system: true } });
    assert.deepEqual((await c.get('/preferences')).body, put.body);
    const s = await openStream(t.baseUrl, c.cookieHeader, { lastEventId: '0' });
    await s.waitForEvent('ready');
    await publishTo(t, id, { channel: 'order', title: 'muted' });
    const crit = await publishTo(t, id, { channel: 'order', severity: 'critical', title: 'critical' });
    const pay = await publishTo(t, id, { channel: 'payment', title: 'payment' });
    await s.waitForNotifications(2);
    assert.deepEqual(
      s.notifications.map((e) => e.id),
      [String(crit.id), String(pay.id)],
    );
    s.close();
    const r = await openStream(t.baseUrl, c.cookieHeader, { lastEventId: '0' });
    await r.waitForNotifications(2);
    assert.deepEqual(
      r.notifications.map((e) => e.id),
      [String(crit.id), String(pay.id)],
    );
    r.close();
  });

  it('past MAX_STREAMS_PER_USER the next stream is 429 JSON; closing one frees a slot', async () => {
    const { c } = await user('limit@example.com');
    const open = [];
    for (let i = 0; i < 3; i++) open.push(await openStream(t.baseUrl, c.cookieHeader));
    await Promise.all(open.map((s) => s.waitForEvent('ready')));
    const denied = await openStream(t.baseUrl, c.cookieHeader);
    assert.equal(denied.status, 429);
    assert.equal(JSON.parse(denied.body).statusCode, 429);
    open[0].close();
    await waitUntil(async () => {
      const s = await openStream(t.baseUrl, c.cookieHeader);
      s.close();
      return s.status === 200;
    }, 'a freed slot');
    open.slice(1).forEach((s) => s.close());
  });

  it("logout ends the session's open streams, and the reconnect is 401", async () => {
    const { c } = await user('logout@example.com');
    const cookie = c.cookieHeader;
    const s = await openStream(t.baseUrl, cookie);
    await s.waitForEvent('ready');
    assert.equal((await c.post('/auth/logout')).status, 204);
    await s.waitForEnd();
    const again = await openStream(t.baseUrl, cookie);
    assert.equal(again.status, 401);
  });
});

describe('bad input', () => {
  it('malformed Last-Event-ID, unknown channel: 400 JSON, no stream', async () => {
    const { c } = await user('bad@example.com');
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
      assert.equal(s.status, 400, `Last-Event-ID ${JSON.stringify(bad)}`);
      assert.equal(s.headers['content-type']?.startsWith('application/json'), true);
      assert.equal(JSON.parse(s.body).statusCode, 400);
    }
    for (const query of ['lastEventId=abc', 'lastEventId=%201', 'lastEventId=1&lastEventId=2']) {
      const q = await openStream(t.baseUrl, c.cookieHeader, { query });
      assert.equal(q.status, 400, query);
    }
    for (const channels of ['sms', 'order,sms', '', 'order,']) {
      const s = await openStream(t.baseUrl, c.cookieHeader, { channels });
      assert.equal(s.status, 400, `channels=${channels}`);
      assert.match(JSON.parse(s.body).message, /Unknown channel/);
    }
    assert.equal((await c.get('/auth/me')).status, 200, 'server unaffected');
  });

  it('without a session the stream is 401 JSON', async () => {
    const s = await SseConnection.open(`${t.baseUrl}/notifications/stream`);
    assert.equal(s.status, 401);
    assert.deepEqual(JSON.parse(s.body), { statusCode: 401, message: 'Authentication required' });
  });

  it('inbox: limit 0 / 1000 / text, bad before, unknown channel, non-numeric ids: 400', async () => {
    const { c } = await user('badinbox@example.com');
    for (const q of ['limit=0', 'limit=1000', 'limit=abc', 'before=abc', 'before=-1', 'channel=sms', 'unread=maybe']) {
      const res = await c.get(`/notifications?${q}`);
      assert.equal(res.status, 400, q);
      assert.equal(res.body.statusCode, 400);
    }
    for (const idText of ['abc', '0', '-1', '1.5', '99999999999999999999']) {
      const res = await c.post(`/notifications/${idText}/read`);
      assert.equal(res.status, 400, idText);
    }
    assert.equal((await c.post('/notifications/read-all', { channel: 'sms' })).status, 400);
    assert.equal((await c.post('/notifications/read-all', { extra: 1 })).status, 400);
    assert.equal((await c.put('/preferences', { channels: { sms: false } })).status, 400);
    assert.equal((await c.put('/preferences', { channels: { order: 'no' } })).status, 400);
    assert.equal((await c.put('/preferences', {})).status, 400);
  });
});

async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
