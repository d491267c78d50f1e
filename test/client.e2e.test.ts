import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  NotificationStream,
  fetchTransport,
  type NotificationJson,
  type ResetPayload,
  type StateChange,
} from '../client/node.js';
import { NotificationPublisher } from '../src/notifications/notification.publisher.js';
import { freshDatabase, startTestApp, type TestApp } from './support/app.js';
import { Client } from './support/http.js';

/**
 * The client's fetch transport against the real server: what a Node service
 * (or a page that must send headers) relies on. A "restart" closes the app
 * and starts a new one on the same database and the same port.
 */

const RETRY_MS = 200;
let database: Awaited<ReturnType<typeof freshDatabase>>;
let t: TestApp;
let port: number;

beforeAll(async () => {
  database = await freshDatabase();
  t = await startTestApp({ RETRY_MS: String(RETRY_MS) }, database);
  port = t.port;
});
afterAll(async () => {
  await t?.close();
  await database?.drop();
});

async function restart(): Promise<void> {
  t = await startTestApp({ RETRY_MS: String(RETRY_MS) }, database, { port });
}

/** A fetch that counts the stream connections it makes. */
function countingFetch() {
  const counter = {
    streamAttempts: 0,
    fetch: ((input: RequestInfo | URL, init?: RequestInit) => {
      if (String(input).includes('/notifications/stream')) counter.streamAttempts++;
      return fetch(input, init);
    }) as typeof fetch,
  };
  return counter;
}

/** A client stream with everything it emitted recorded, and a way to wait for a condition. */
function open(
  cookie: string | null,
  options: { lastEventId?: string; channels?: Array<'order' | 'payment' | 'system'> } = {},
) {
  const counter = countingFetch();
  const stream = new NotificationStream({
    baseUrl: t.baseUrl,
    transport: fetchTransport({ headers: cookie ? { cookie } : {}, fetch: counter.fetch }),
    lastEventId: options.lastEventId,
    channels: options.channels,
  });
  const seen = {
    notifications: [] as NotificationJson[],
    orders: [] as NotificationJson[],
    states: [] as StateChange[],
    resets: [] as ResetPayload[],
  };
  const waiters = new Set<() => void>();
  const wake = () => waiters.forEach((w) => w());
  stream.on('notification', (n) => (seen.notifications.push(n), wake()));
  stream.on('order', (n) => {
    expect(n.channel).toBe('order'); // a channel listener gets that channel's notifications only
    seen.orders.push(n);
  });
  stream.on('reset', (r) => (seen.resets.push(r), wake()));
  stream.on('state', (s) => (seen.states.push(s), wake()));
  async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `timed out waiting for ${what}; states: ${seen.states.map((s) => s.state + (s.cause ? ` (${s.cause})` : '')).join(' → ')}`,
        );
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        waiters.add(done);
      });
    }
  }
  return { stream, seen, counter, until };
}

async function signedIn(email: string): Promise<{ client: Client; userId: string }> {
  const client = new Client(t.baseUrl);
  const user = await client.signUp(email);
  return { client, userId: user.id };
}

function publish(app: TestApp, userId: string, title: string, channel: 'order' | 'payment' = 'order') {
  return app.app.get(NotificationPublisher).send({
    userId,
    channel,
    type: channel === 'order' ? 'order.placed' : 'payment.pending',
    severity: 'info',
    title,
    body: '',
    data: {},
  });
}

describe('client fetch transport against the real server', () => {
  it('resumes across a server restart with no gap and no duplicate', async () => {
    const { client, userId } = await signedIn('resume@example.com');
    const s = open(client.cookieHeader);
    await s.until(() => s.stream.state === 'live', 'live');

    for (let i = 1; i <= 3; i++) await publish(t, userId, `before ${i}`, i === 2 ? 'payment' : 'order');
    await s.until(() => s.seen.notifications.length === 3, '3 live notifications');

    await t.close(); // every open stream ends; the client starts reconnecting
    await s.until(() => s.stream.state === 'reconnecting', 'reconnecting');

    // While this instance is down, another one (same database) commits more.
    const writer = await startTestApp({}, database);
    for (let i = 1; i <= 4; i++) await publish(writer, userId, `while down ${i}`);
    await writer.close();

    await restart();
    await s.until(() => s.seen.notifications.length === 7, 'the 4 missed notifications, replayed');
    await s.until(() => s.stream.state === 'live', 'live again');
    for (let i = 1; i <= 2; i++) await publish(t, userId, `after ${i}`);
    await s.until(() => s.seen.notifications.length === 9, '2 more live notifications');

    const stored = (
      await t.db.query(`SELECT id::text FROM notifications WHERE user_id = $1 ORDER BY notifications.id`, [userId])
    ).rows.map((r) => r.id);
    const received = s.seen.notifications.map((n) => n.id);
    expect(received).toStrictEqual(stored); // every stored notification exactly once, in id order
    expect(s.seen.notifications.map((n) => n.title)).toStrictEqual([
      'before 1',
      'before 2',
      'before 3',
      'while down 1',
      'while down 2',
      'while down 3',
      'while down 4',
      'after 1',
      'after 2',
    ]);
    expect(s.seen.orders.map((n) => n.title)).toStrictEqual(
      s.seen.notifications.filter((n) => n.channel === 'order').map((n) => n.title),
    );
    expect(s.stream.lastEventId).toBe(stored.at(-1));
    s.stream.close();
    expect(s.stream.state).toBe('closed');
  });

  it("backs off while the server is down, starting from the server's retry:", async () => {
    const { client, userId } = await signedIn('backoff@example.com');
    const s = open(client.cookieHeader);
    await s.until(() => s.stream.state === 'live', 'live');
    const before = s.counter.streamAttempts;
    const statesBefore = s.seen.states.length;

    await t.close();
    // Counting attempts over a fixed window is the point here, so this waits on time.
    const windowMs = 4000;
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const attempts = s.counter.streamAttempts - before;
    // Every 200 ms (the server's retry:) would be 20; doubling from 200 ms fits at most 4 in 4 s.
    expect(attempts >= 2).toBeTruthy(); // `kept trying (${attempts} attempts)`
    expect(attempts <= 5).toBeTruthy(); // `backed off: ${attempts} attempts in ${windowMs} ms`
    const delays = s.seen.states
      .slice(statesBefore)
      .filter((x) => x.state === 'reconnecting')
      .map((x) => x.retryInMs!);
    expect(delays.length >= 2).toBeTruthy();
    delays.forEach((d, i) => {
      const floor = RETRY_MS * 2 ** i;
      expect(d >= floor && d <= 2 * floor).toBeTruthy(); // `delay ${i} = ${d} ms, expected ${floor}–${2 * floor} (base = the server's retry: ${RETRY_MS})`
    });

    await restart();
    await s.until(() => s.stream.state === 'live', 'live after the restart', 30_000);
    await publish(t, userId, 'back');
    await s.until(() => s.seen.notifications.length === 1, 'a notification after the outage');
    s.stream.close();
  });

  it('stops on 401: without a session, and when the session is signed out', async () => {
    const anonymous = open(null);
    await anonymous.until(() => anonymous.stream.state === 'closed', 'closed');
    expect(anonymous.seen.states.at(-1)!.reason).toBe('unauthorized');
    expect(anonymous.counter.streamAttempts).toBe(1);

    const { client } = await signedIn('signout@example.com');
    const s = open(client.cookieHeader);
    await s.until(() => s.stream.state === 'live', 'live');
    expect((await client.post('/auth/logout')).status).toBe(204); // ends this session's streams
    await s.until(() => s.stream.state === 'closed', 'closed after sign-out');
    expect(s.seen.states.at(-1)!.reason).toBe('unauthorized');
    expect(s.counter.streamAttempts).toBe(2); // one reconnect, answered 401, then no more
    // Nothing is scheduled any more: no attempt within many retry periods.
    await new Promise((resolve) => setTimeout(resolve, 5 * RETRY_MS));
    expect(s.counter.streamAttempts).toBe(2);
    expect(anonymous.counter.streamAttempts).toBe(1);
  });

  it('follows the server to its cursor when the saved position does not exist (reset: unknown-cursor)', async () => {
    const { client, userId } = await signedIn('reset@example.com');
    const newest = (await t.db.query(`SELECT max(id)::text AS id FROM notifications`)).rows[0].id as string;
    const s = open(client.cookieHeader, { lastEventId: '9000000000000000000' });
    await s.until(() => s.seen.resets.length === 1, 'reset');
    expect(s.seen.resets).toStrictEqual([{ reason: 'unknown-cursor' }]);
    expect(s.stream.lastEventId).toBe(newest);
    await publish(t, userId, 'after reset');
    await s.until(() => s.seen.notifications.length === 1, 'the next notification');
    s.stream.close();
  });
});
