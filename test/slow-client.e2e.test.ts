import { describe, expect, it } from '@jest/globals';
import { MetricsService } from '../src/metrics/metrics.service.js';
import { NotificationPublisher } from '../src/notifications/notification.publisher.js';
import { sharedTestApp } from './support/app.js';
import { Client } from './support/http.js';
import { PausableStream } from './support/pausable-stream.js';
import { draft } from './support/publisher-app.js';
import { openStream } from './support/sse.js';

const BUDGET = 64 * 1024;
const t = sharedTestApp({ SLOW_CLIENT_BYTES: String(BUDGET) });

/** The counter behind `notifications_dropped_slow_clients_total` on GET /metrics. */
async function droppedCount(): Promise<number> {
  const metric = await t.app.get(MetricsService).droppedSlowClients.get();
  expect(metric.name).toBe('notifications_dropped_slow_clients_total');
  return metric.values[0]?.value ?? 0;
}

describe('a client that stops reading', () => {
  it('is dropped past SLOW_CLIENT_BYTES, counted, and gets everything on reconnect with its Last-Event-ID', async () => {
    const c = new Client(t.baseUrl);
    const user = await c.signUp('slow@example.com');
    const other = new Client(t.baseUrl);
    await other.signUp('reader@example.com');
    const before = await droppedCount();
    const publisher = t.app.get(NotificationPublisher);

    const slow = await PausableStream.open(`${t.baseUrl}/notifications/stream`, { cookie: c.cookieHeader });
    slow.pause();

    // Large notifications until the server gives up on the reader (bounded: 64 MB).
    const body = 'x'.repeat(9000);
    let n = 0;
    while ((await droppedCount()) === before) {
      expect(n < 7000).toBeTruthy(); // the slow client was never dropped
      for (let i = 0; i < 50; i++) await publisher.send(draft(user.id, n++, body));
    }
    expect(await droppedCount()).toBe(before + 1);
    console.log(`# dropped after ${n} notifications of 9 KB (budget ${BUDGET} bytes)`);

    // Reading again: what reached the socket before the drop, then the end.
    slow.resume();
    await slow.waitForEnd(10_000);
    const firstPart = slow.ids;
    const expected = (
      await t.db.query(`SELECT id FROM notifications WHERE user_id = $1 ORDER BY id`, [user.id])
    ).rows.map((r) => String(r.id));
    expect(firstPart.length < expected.length).toBeTruthy(); // it was dropped before receiving everything
    expect(firstPart).toStrictEqual(expected.slice(0, firstPart.length)); // what it got before the drop is a prefix, in order

    const resumed = await openStream(t.baseUrl, c.cookieHeader, {
      lastEventId: firstPart[firstPart.length - 1] ?? '0',
    });
    expect(resumed.status).toBe(200);
    await resumed.waitForNotifications(expected.length - firstPart.length, 30_000);
    expect([...firstPart, ...resumed.notifications.map((e) => e.id)]).toStrictEqual(expected); // nothing lost, nothing twice
    resumed.close();
  });

  it('a client that reads is not dropped by a burst, nor by a replay, far larger than its budget', async () => {
    const c = new Client(t.baseUrl);
    const user = await c.signUp('fast@example.com');
    const before = await droppedCount();
    const live = await openStream(t.baseUrl, c.cookieHeader);
    await live.waitForEvent('ready');
    const publisher = t.app.get(NotificationPublisher);
    // 300 × 9 KB = 2.7 MB committed together: one page of the feed, written to the stream in one go.
    const rows = await Promise.all(
      Array.from({ length: 300 }, (_, i) => publisher.send(draft(user.id, i, 'y'.repeat(9000)))),
    );
    const ids = rows.map((r) => String(r.id));
    await live.waitForNotifications(300, 30_000);
    expect(live.notifications.map((e) => e.id)).toStrictEqual(ids);
    expect(live.ended).toBe(false);

    const replay = await openStream(t.baseUrl, c.cookieHeader, { lastEventId: '0' });
    await replay.waitForNotifications(300, 30_000);
    expect(replay.notifications.map((e) => e.id)).toStrictEqual(ids);
    expect(replay.ended).toBe(false);
    expect(await droppedCount()).toBe(before); // nobody was dropped
    live.close();
    replay.close();
  });
});
