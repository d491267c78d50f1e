import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { TransactionRunner } from '../src/database/transaction.js';
import { type CommittedMessage, rowsOf } from '../src/notifications/bus/committed-message.js';
import { PG_CHANNEL } from '../src/notifications/bus/pg-notify.bus.js';
import { NotificationPublisher } from '../src/notifications/notification.publisher.js';
import { NOTIFICATION_COLUMNS, type NotificationRow } from '../src/notifications/notification.types.js';
import { freshDatabase, startTestApp, type TestApp } from './support/app.js';
import { Client } from './support/http.js';
import { type Samples, scrape, value } from './support/metrics.js';
import { draft } from './support/publisher-app.js';
import { insertUnannounced } from './support/silent-insert.js';
import { type SseConnection, openStream } from './support/sse.js';

/**
 * Two instances (A and B) on one database and the Postgres bus, the safety-net
 * poll off: the bus message carries the rows, so a feed in steady state reads
 * none back; what the bus cannot carry (rows too long for one NOTIFY, an id
 * committed without a message) is read from the table, and every stream
 * still gets every notification once, in id order.
 */
let database: Awaited<ReturnType<typeof freshDatabase>>;
let a: TestApp;
let b: TestApp;
let userId: string;
const streams: SseConnection[] = [];
const ROWS_READ = 'notifications_feed_rows_read_total{reason="gap"}';

beforeAll(async () => {
  database = await freshDatabase();
  const env = { FEED_POLL_MS: '600000' };
  a = await startTestApp(env, database);
  b = await startTestApp(env, database);
  const alice = new Client(a.baseUrl);
  userId = (await alice.signUp('alice@example.com')).id;
  for (const app of [a, b]) {
    const stream = await openStream(app.baseUrl, alice.cookieHeader);
    await stream.waitForEvent('ready');
    streams.push(stream);
  }
});

afterAll(async () => {
  streams.forEach((s) => s.close());
  await a?.close();
  await b?.close();
  await database?.drop();
});

/** Every stream gets exactly the user's notifications (and broadcasts), in id order. */
async function everyStreamHasAll(): Promise<string[]> {
  const { rows } = await a.db.query<{ id: string }>(
    `SELECT id::text FROM notifications WHERE user_id = $1 OR user_id IS NULL ORDER BY notifications.id`,
    [userId],
  );
  const ids = rows.map((r) => r.id);
  for (const stream of streams) {
    await stream.waitForNotifications(ids.length);
    expect(stream.notifications.map((e) => e.id)).toStrictEqual(ids);
  }
  return ids;
}

const scrapeBoth = () => Promise.all([scrape(a.baseUrl), scrape(b.baseUrl)]);
const rowsRead = (before: Samples[], after: Samples[]) =>
  after.map((s, i) => value(s, ROWS_READ) - value(before[i], ROWS_READ));

describe('the feed reads back only what the bus could not bring', () => {
  it('in steady state no instance reads a row back: group commits, transactions and a broadcast, from both', async () => {
    const before = await scrapeBoth();
    const sendA = a.app.get(NotificationPublisher);
    await Promise.all(Array.from({ length: 100 }, (_, i) => sendA.send(draft(userId, i))));
    for (let t = 0; t < 3; t++) {
      await b.app.get(TransactionRunner).run((tx) =>
        b.app.get(NotificationPublisher).publish(
          tx,
          Array.from({ length: 10 }, (_, i) => draft(userId, 100 + t * 10 + i)),
        ),
      );
    }
    await a.app.get(TransactionRunner).run((tx) =>
      sendA.publishBroadcast(tx, {
        ...draft(userId, 999),
        channel: 'system',
        audience: { kind: 'all' },
        expiresAt: null,
        createdBy: null,
      }),
    );
    const ids = await everyStreamHasAll();
    expect(ids.length).toBe(131);
    expect(rowsRead(before, await scrapeBoth())).toStrictEqual([0, 0]);
  });

  it('rows too long for one NOTIFY are read from the table, once, by the instance that did not commit them', async () => {
    const before = await scrapeBoth();
    const long = '€'.repeat(3000); // 9,000 bytes of UTF-8: over NOTIFY's 8,000
    await b.app.get(TransactionRunner).run((tx) =>
      b.app.get(NotificationPublisher).publish(
        tx,
        [1, 2, 3].map((n) => draft(userId, n, long)),
      ),
    );
    await everyStreamHasAll();
    const [readByA, readByB] = rowsRead(before, await scrapeBoth());
    expect(readByA).toBe(3);
    // B hands its own rows over after the commit, unless its NOTIFY came first by more than the grace.
    expect(readByB <= 3).toBeTruthy();
    expect(JSON.parse(streams[0].notifications.at(-1)!.data).body).toBe(long);
  });

  it('an id committed without a message is read from the table, alone; the rows that came after it follow', async () => {
    const before = await scrapeBoth();
    await insertUnannounced(a.db, userId);
    await b.app
      .get(TransactionRunner)
      .run((tx) => b.app.get(NotificationPublisher).publish(tx, [draft(userId, 7), draft(userId, 8)]));
    await everyStreamHasAll();
    expect(rowsRead(before, await scrapeBoth())).toStrictEqual([1, 1]); // the missing id only
  });
});

describe('"committed" messages', () => {
  it('carry each row exactly as the driver reads it from the table, timestamps to the millisecond', async () => {
    const listener = new pg.Client({ connectionString: database.url });
    await listener.connect();
    const messages: CommittedMessage[] = [];
    let twoMessages!: () => void;
    const received = new Promise<void>((resolve) => (twoMessages = resolve));
    listener.on('notification', (n) => {
      messages.push(JSON.parse(n.payload!) as CommittedMessage);
      if (messages.length === 2) twoMessages(); // the personal rows' statement and the broadcast's
    });
    await listener.query(`LISTEN ${PG_CHANNEL}`);
    try {
      const publisher = a.app.get(NotificationPublisher);
      const published = await a.app.get(TransactionRunner).run(async (tx) => [
        ...(await publisher.publish(tx, [
          { ...draft(userId, 1, 'Ünïcödé "quotes" \\ and\nnewlines'), data: { nested: { list: [1, 'two', null] } } },
          draft(userId, 2),
        ])),
        await publisher.publishBroadcast(tx, {
          ...draft(userId, 3),
          channel: 'system',
          severity: 'critical',
          audience: { kind: 'users', userIds: [userId, '12345'] },
          expiresAt: new Date(Date.now() + 86_400_000),
          createdBy: null,
          deliver: ['push', 'email'],
        }),
      ]);
      await received;
      const carried = messages.flatMap((m) => rowsOf(m) ?? []);
      const { rows: stored } = await a.db.query<NotificationRow>(
        `SELECT ${NOTIFICATION_COLUMNS} FROM notifications n WHERE n.id = ANY($1::bigint[]) ORDER BY n.id`,
        [published.map((r) => r.id)],
      );
      expect(stored.length).toBe(3);
      expect(carried).toStrictEqual(stored);
      expect(published).toStrictEqual(stored); // what the publisher answers, too
    } finally {
      await listener.end();
    }
  });
});
