import http from 'node:http';
import { describe, expect, it } from '@jest/globals';
import { NotificationPublisher } from '../src/notifications/notification.publisher.js';
import type { PersonalDraft } from '../src/notifications/notification.types.js';
import { Client } from './support/http.js';
import { sharedTestApp } from './support/app.js';
import { type Samples, scrape as scrapeMetrics, value } from './support/metrics.js';
import { openStream } from './support/sse.js';

const t = sharedTestApp({ SLOW_CLIENT_BYTES: '65536' });

const scrape = () => scrapeMetrics(t.baseUrl);

/** Polls the scrape until `check` holds: counters move after the response that caused them. */
async function scrapeUntil(check: (s: Samples) => boolean, what: string, timeoutMs = 10_000): Promise<Samples> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await scrape();
    if (check(s)) return s;
    if (Date.now() > deadline) throw new Error(`timed out waiting for metrics: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function draft(userId: string, i: number, body = 'body'): PersonalDraft {
  return { userId, channel: 'order', type: 'order.placed', severity: 'info', title: `Order #${i}`, body, data: { i } };
}

describe('GET /metrics', () => {
  it('answers the Prometheus text format without a session, with the service metrics and Node defaults', async () => {
    const res = await fetch(`${t.baseUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    for (const name of [
      'notifications_open_streams gauge',
      'notifications_published_total counter',
      'notifications_delivered_total counter',
      'notifications_replayed_total counter',
      'notifications_publish_to_delivery_seconds histogram',
      'notifications_dropped_slow_clients_total counter',
      'notifications_bus_reconnects_total counter',
      'notifications_feed_reads_total counter',
      'notifications_feed_rows_read_total counter',
      'process_cpu_user_seconds_total counter',
      'nodejs_heap_size_used_bytes gauge',
      'nodejs_eventloop_lag_seconds gauge',
    ]) {
      expect(text.includes(`# TYPE ${name}`)).toBeTruthy(); // `exposes ${name}`
    }
  });

  it('counts open streams, published, delivered and replayed notifications and their latency', async () => {
    const c = new Client(t.baseUrl);
    const user = await c.signUp('metrics@example.com');
    const publisher = t.app.get(NotificationPublisher);
    const base = await scrape();
    const key = {
      open: 'notifications_open_streams',
      published: 'notifications_published_total{channel="order"}',
      delivered: 'notifications_delivered_total',
      replayed: 'notifications_replayed_total',
      latency: 'notifications_publish_to_delivery_seconds_count',
    };

    const live = await openStream(t.baseUrl, c.cookieHeader);
    const ready = await live.waitForEvent('ready');
    await scrapeUntil((s) => value(s, key.open) === value(base, key.open) + 1, 'one open stream');

    await Promise.all([1, 2, 3].map((i) => publisher.send(draft(user.id, i))));
    await live.waitForNotifications(3);
    const afterLive = await scrapeUntil(
      (s) => value(s, key.delivered) >= value(base, key.delivered) + 3,
      'three deliveries',
    );
    expect(value(afterLive, key.published) - value(base, key.published)).toBe(3); // published +3
    expect(value(afterLive, key.delivered) - value(base, key.delivered)).toBe(3); // delivered +3
    expect(value(afterLive, key.latency) - value(base, key.latency) >= 1).toBeTruthy(); // latency observed
    expect(value(afterLive, key.replayed)).toBe(value(base, key.replayed)); // nothing replayed yet
    const buckets = [...afterLive.keys()].filter((k) =>
      k.startsWith('notifications_publish_to_delivery_seconds_bucket'),
    );
    expect(buckets.length >= 10).toBeTruthy(); // latency histogram buckets

    // A reconnect from before the three replays them.
    const replay = await openStream(t.baseUrl, c.cookieHeader, { lastEventId: ready.id! });
    await replay.waitForNotifications(3);
    const afterReplay = await scrapeUntil(
      (s) => value(s, key.replayed) >= value(base, key.replayed) + 3,
      'three replays',
    );
    expect(value(afterReplay, key.replayed) - value(base, key.replayed)).toBe(3); // replayed +3
    expect(value(afterReplay, key.open) - value(base, key.open)).toBe(2); // two open streams

    live.close();
    replay.close();
    await scrapeUntil((s) => value(s, key.open) === value(base, key.open), 'streams closed');
  });

  it('counts a client that stops reading as a dropped slow client', async () => {
    const c = new Client(t.baseUrl);
    const user = await c.signUp('slow@example.com');
    const publisher = t.app.get(NotificationPublisher);
    const key = 'notifications_dropped_slow_clients_total';
    const base = value(await scrape(), key);

    // A client that reads the headers and then nothing: the socket buffers fill,
    // the server's queue passes SLOW_CLIENT_BYTES and it drops the stream.
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.get(
        `${t.baseUrl}/notifications/stream`,
        { headers: { cookie: c.cookieHeader, accept: 'text/event-stream' } },
        resolve,
      );
      req.on('error', reject);
    });
    expect(res.statusCode).toBe(200);
    res.pause();
    res.on('error', () => undefined);

    const big = 'x'.repeat(10_000);
    let sent = 0;
    let dropped = base;
    // Rounds of ~2 MB until the drop shows (loopback socket buffers can hold several MB).
    while (dropped === base && sent < 4000) {
      await Promise.all(Array.from({ length: 200 }, (_, i) => publisher.send(draft(user.id, sent + i, big))));
      sent += 200;
      dropped = value(await scrape(), key);
    }
    if (dropped === base) dropped = value(await scrapeUntil((s) => value(s, key) > base, 'a dropped client'), key);
    expect(dropped - base).toBe(1); // `dropped after ${sent} notifications of 10 KB`
    res.destroy();
  });

  it('counts reconnections of the Postgres bus', async () => {
    const key = 'notifications_bus_reconnects_total{bus="postgres"}';
    const base = value(await scrape(), key);
    // Kill the instance's LISTEN connection, as a database restart or failover would.
    const killed = await t.db.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE application_name = 'notifications-bus' AND datname = current_database()`,
    );
    expect(killed.rowCount).toBe(1);
    await scrapeUntil((s) => value(s, key) === base + 1, 'one bus reconnect');
  });
});
