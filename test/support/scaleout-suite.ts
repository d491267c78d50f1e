import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import pg from 'pg';
import { endPool, freshDatabase } from './app.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, Instance, eventually } from './cluster.js';
import { Client } from './http.js';
import { type PublisherApp, draft, startPublisherApp } from './publisher-app.js';
import { ResumingClient } from './resuming-client.js';
import { insertUnannounced } from './silent-insert.js';
import { openStream } from './sse.js';

/**
 * Two instances of the built service as real processes (A and B) on one
 * database, plus a publishing instance (an app without HTTP, as an event
 * source elsewhere would be). The database poll is switched off
 * (FEED_POLL_MS = 10 min), so only the bus under test can carry a
 * notification from the publisher to a live stream.
 */
export function scaleoutSuite(bus: 'postgres' | 'redis', redisUrl: () => Promise<string | undefined>): void {
  describe(`two instances on the ${bus} bus`, () => {
    let database: { url: string; drop: () => Promise<void> };
    let db: pg.Pool;
    let a: Instance;
    let b: Instance;
    let publisher: PublisherApp;
    let redis: string | undefined;
    const resuming: ResumingClient[] = [];

    beforeAll(async () => {
      database = await freshDatabase();
      db = new pg.Pool({ connectionString: database.url, max: 2 });
      redis = await redisUrl();
      const env = { FEED_POLL_MS: '600000', HEARTBEAT_MS: '1000' };
      [a, b] = await Promise.all([
        Instance.start({ databaseUrl: database.url, redisUrl: redis, env, name: 'A' }),
        Instance.start({ databaseUrl: database.url, redisUrl: redis, env, name: 'B' }),
      ]);
      publisher = await startPublisherApp(database.url, {
        ...(redis ? { REDIS_URL: redis } : {}),
        FEED_POLL_MS: '600000',
      });
    });

    afterAll(async () => {
      resuming.forEach((c) => c.stop());
      await publisher?.close();
      await Promise.all([a?.stop(), b?.stop()]);
      if (db) await endPool(db);
      await database?.drop();
    });

    /** The same signed-in browser, talking to another instance. */
    const on = (client: Client, instance: Instance): Client => {
      const other = new Client(instance.baseUrl);
      for (const [k, v] of client.cookies) other.cookies.set(k, v);
      other.csrfToken = client.csrfToken;
      return other;
    };

    const idsOf = async (userId: string): Promise<number[]> =>
      (await db.query(`SELECT id FROM notifications WHERE user_id = $1 ORDER BY id`, [userId])).rows.map((r) =>
        Number(r.id),
      );

    it(`/health names the ${bus} bus`, async () => {
      for (const instance of [a, b]) {
        await instance.waitHealthy();
        const res = await fetch(`${instance.baseUrl}/health`);
        const body = (await res.json()) as { info: { bus: { bus: string } } };
        expect(body.info.bus.bus).toBe(bus);
      }
    });

    it('a notification published elsewhere reaches the stream held by instance B, and only its user', async () => {
      const alice = new Client(a.baseUrl);
      const aliceUser = await alice.signUp('alice@example.com');
      const bob = new Client(a.baseUrl);
      const bobUser = await bob.signUp('bob@example.com');
      const aliceOnB = await openStream(b.baseUrl, alice.cookieHeader, { lastEventId: '0' });
      const bobOnA = await openStream(a.baseUrl, bob.cookieHeader, { lastEventId: '0' });
      expect(aliceOnB.status).toBe(200);
      await aliceOnB.waitForEvent('ready');
      await bobOnA.waitForEvent('ready');

      const aliceIds = await publisher.publish([
        draft(aliceUser.id, 1),
        draft(aliceUser.id, 2),
        draft(aliceUser.id, 3),
      ]);
      const bobIds = await publisher.publish([draft(bobUser.id, 4)]);

      await aliceOnB.waitForNotifications(3);
      await bobOnA.waitForNotifications(1);
      expect(aliceOnB.notifications.map((e) => e.id)).toStrictEqual(aliceIds);
      expect(bobOnA.notifications.map((e) => e.id)).toStrictEqual(bobIds);
      expect(JSON.parse(aliceOnB.notifications[0].data).title).toStrictEqual('Notification 1');
      // One more for alice: had bob's leaked onto her stream, it would show up before it.
      const [last] = await publisher.publish([draft(aliceUser.id, 5)]);
      await aliceOnB.waitForNotifications(4);
      expect(aliceOnB.notifications.map((e) => e.id)).toStrictEqual([...aliceIds, last]);
      expect(bobOnA.notifications.length).toBe(1);
      aliceOnB.close();
      bobOnA.close();
    });

    it('after the bus connection is cut, each instance catches up from the database what no message announced', async () => {
      const jane = new Client(a.baseUrl);
      const user = await jane.signUp('jane@example.com');
      const onB = await openStream(b.baseUrl, jane.cookieHeader);
      await onB.waitForEvent('ready');
      const id = await insertUnannounced(db, user.id);
      expect(onB.notifications.length).toBe(0);
      const cut = await cutBusConnections(bus, db, redis);
      expect(cut >= 2).toBeTruthy(); // `cut the bus connections of both instances (${cut})`
      await onB.waitForNotifications(1, 15_000);
      expect(onB.notifications.map((e) => e.id)).toStrictEqual([id]);
      onB.close();
    });

    it('logout on instance A ends the session’s stream held by instance B within a second; its reconnect gets 401', async () => {
      const carol = new Client(a.baseUrl);
      await carol.signUp('carol@example.com');
      const cookie = carol.cookieHeader;
      const onB = await openStream(b.baseUrl, cookie);
      await onB.waitForEvent('ready');
      // Another session of the same user lives on.
      const otherSession = new Client(b.baseUrl);
      await otherSession.login('carol@example.com');
      const otherOnB = await openStream(b.baseUrl, otherSession.cookieHeader);
      await otherOnB.waitForEvent('ready');

      expect((await carol.post('/auth/logout')).status).toBe(204);
      await onB.waitForEnd(1000);
      const again = await openStream(b.baseUrl, cookie);
      expect(again.status).toBe(401);
      expect(otherOnB.ended).toBe(false); // the other session’s stream is not touched
      otherOnB.close();
    });

    it('an admin disabling a user on A ends their streams on A and B; reconnects get 401; enabling lets them sign in again', async () => {
      const admin = new Client(a.baseUrl);
      expect((await admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)).status).toBe(200);
      const dave = new Client(a.baseUrl);
      const daveUser = await dave.signUp('dave@example.com');
      const streams = await Promise.all([
        openStream(a.baseUrl, dave.cookieHeader),
        openStream(b.baseUrl, dave.cookieHeader),
      ]);
      await Promise.all(streams.map((s) => s.waitForEvent('ready')));
      const erin = new Client(b.baseUrl);
      await erin.signUp('erin@example.com');
      const erinOnB = await openStream(b.baseUrl, erin.cookieHeader);
      await erinOnB.waitForEvent('ready');

      const res = await admin.request('PATCH', `/admin/users/${daveUser.id}`, { disabled: true });
      expect(res.status).toBe(200);
      expect(res.body).toStrictEqual({
        id: daveUser.id,
        email: 'dave@example.com',
        role: 'user',
        displayName: null,
        disabled: true,
      });
      await Promise.all(streams.map((s) => s.waitForEnd(1000)));
      expect((await openStream(b.baseUrl, dave.cookieHeader)).status).toBe(401);
      expect((await on(dave, b).get('/auth/me')).status).toBe(401);
      expect((await new Client(b.baseUrl).login('dave@example.com')).status).toBe(401); // a disabled user cannot sign in
      expect(erinOnB.ended).toBe(false); // another user’s stream is not touched

      const enabled = await on(admin, b).request('PATCH', `/admin/users/${daveUser.id}`, { disabled: false });
      expect(enabled.status).toBe(200);
      expect(enabled.body.disabled).toBe(false);
      expect((await new Client(b.baseUrl).login('dave@example.com')).status).toBe(200);
      erinOnB.close();
    });

    it('an admin changing a user’s role ends their streams everywhere; they sign in again with the new role', async () => {
      const admin = new Client(b.baseUrl);
      await admin.login(ADMIN_EMAIL, ADMIN_PASSWORD);
      const frank = new Client(a.baseUrl);
      const frankUser = await frank.signUp('frank@example.com');
      const onA = await openStream(a.baseUrl, frank.cookieHeader);
      await onA.waitForEvent('ready');
      const res = await admin.request('PATCH', `/admin/users/${frankUser.id}`, { role: 'admin' });
      expect(res.status).toBe(200);
      expect(res.body.role).toBe('admin');
      await onA.waitForEnd(1000);
      expect((await openStream(a.baseUrl, frank.cookieHeader)).status).toBe(401);
      const again = new Client(a.baseUrl);
      expect((await again.login('frank@example.com')).status).toBe(200);
      expect((await again.get('/auth/me')).body.role).toBe('admin');
    });

    it('PATCH /admin/users/:id: 400 on bad input, 404 for no such user, 409 on oneself, 403 for a non-admin', async () => {
      const admin = new Client(a.baseUrl);
      const me = (await admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)).body.user;
      const gina = new Client(a.baseUrl);
      const ginaUser = await gina.signUp('gina@example.com');
      const patch = (c: Client, id: string, body: unknown) => c.request('PATCH', `/admin/users/${id}`, body);
      expect((await patch(admin, ginaUser.id, {})).status).toBe(400);
      expect((await patch(admin, ginaUser.id, { role: 'root' })).status).toBe(400);
      expect((await patch(admin, ginaUser.id, { disabled: 'yes' })).status).toBe(400);
      expect((await patch(admin, ginaUser.id, { disabled: true, extra: 1 })).status).toBe(400);
      expect((await patch(admin, 'abc', { disabled: true })).status).toBe(400);
      expect((await patch(admin, '999999', { disabled: true })).status).toBe(404);
      expect((await patch(admin, me.id, { role: 'user' })).status).toBe(409);
      expect((await patch(gina, ginaUser.id, { role: 'admin' })).status).toBe(403);
      expect((await patch(admin, ginaUser.id, { disabled: true })).status).toBe(200);
      const { rows } = await db.query(`SELECT role, disabled_at IS NOT NULL AS disabled FROM users WHERE id = $1`, [
        ginaUser.id,
      ]);
      expect(rows[0]).toStrictEqual({ role: 'user', disabled: true }); // only the valid request changed anything
    });

    it('SIGTERM during streaming: the instance stops accepting, ends its streams, exits 0; clients resume on B without loss', async () => {
      const users = await Promise.all(
        ['hank', 'ida'].map(async (name) => {
          const c = new Client(a.baseUrl);
          return { client: c, user: await c.signUp(`${name}@example.com`) };
        }),
      );
      let terminated = false;
      const clients = users.flatMap(({ client, user }) =>
        [1, 2].map(
          (n) =>
            new ResumingClient(
              `${user.email}#${n}`,
              client.cookieHeader,
              () => (terminated ? b.baseUrl : a.baseUrl),
              '0',
            ),
        ),
      );
      resuming.push(...clients);
      clients.forEach((c) => c.connect());
      await eventually(
        () => clients.every((c) => c.connects === 1 && c.lastEventId !== undefined),
        'streams open on A',
      );

      let publishing = true;
      let published = 0;
      const publishLoop = (async () => {
        for (let i = 0; publishing || i < 20; i++) {
          await publisher.publish(users.flatMap(({ user }) => [draft(user.id, i * 2), draft(user.id, i * 2 + 1)]));
          published += 4;
          await new Promise((r) => setTimeout(r, 10));
        }
      })();
      await eventually(() => clients.every((c) => c.received.length >= 10), 'notifications flowing on A');

      // Probe A with fresh connections: answers are 200 until it refuses connections, never an error status.
      const probes: string[] = [];
      terminated = true;
      // A sign-in (argon2: tens of ms) in flight on a kept-alive connection when the signal comes.
      // From a client of its own: a sign-in rotates its session, and the streaming clients must
      // keep theirs (had it gone through on hank's own session, his resumes would get 401).
      const signer = new Client(a.baseUrl);
      await signer.fetchCsrf();
      const inFlight = signer.login('hank@example.com').then(
        (r) => String(r.status),
        (err: Error) => `connection error: ${(err.cause as NodeJS.ErrnoException | undefined)?.code ?? err.message}`,
      );
      a.proc.kill('SIGTERM');
      for (;;) {
        const answer = await probe(`${a.baseUrl}/health`);
        probes.push(answer);
        if (answer !== '200') break;
      }
      const exit = await a.exited;
      publishing = false;
      await publishLoop;
      expect(exit).toStrictEqual({ code: 0, signal: null }); // a.output.slice(-3000)
      // Refused, or reset if it raced the closing of the listening socket: either way a browser retries.
      expect(probes[probes.length - 1]).toMatch(/ECONNREFUSED|ECONNRESET/);
      expect(probes.slice(0, -1).every((p) => p === '200')).toBeTruthy(); // probes.join(',')
      const signIn = await inFlight;
      expect(signIn === '200' || signIn.startsWith('connection error')).toBeTruthy(); // `the request in flight: ${signIn}`
      console.log(`# ${bus}: request in flight during SIGTERM: ${signIn}; probes: ${probes.join(',')}`);

      for (const { user } of users) {
        const expected = await idsOf(user.id);
        for (const c of clients.filter((x) => x.name.startsWith(user.email))) {
          await c.until(() => c.received.length >= expected.length, `${expected.length} notifications`, 15_000);
          c.stop();
          expect(c.duplicates).toBe(0); // `${c.name} duplicates`
          expect(c.outOfOrder).toBe(0); // `${c.name} out of order`
          expect(c.received).toStrictEqual(expected); // `${c.name} received exactly its user's notifications`
          expect(c.connects >= 2).toBeTruthy(); // `${c.name} resumed on B`
          expect(c.problems.every((p) => !/: [45]\d\d$/.test(p))).toBeTruthy(); // `${c.name}: ${c.problems.join(', ')}`
        }
      }
      expect(published >= 80).toBeTruthy();
    });
  });
}

/**
 * Drops every instance's bus subscription on this database's bus: the Postgres
 * listening connections (application_name notifications-bus), or the Redis
 * subscriber connections (client name notifications-bus). Returns how many.
 */
async function cutBusConnections(
  bus: 'postgres' | 'redis',
  db: pg.Pool,
  redisUrl: string | undefined,
): Promise<number> {
  if (bus === 'postgres') {
    const { rows } = await db.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'notifications-bus' AND datname = current_database()`,
    );
    return rows.length;
  }
  const admin = new Redis(redisUrl!);
  try {
    const list = (await admin.client('LIST')) as string;
    const ids = list
      .split('\n')
      .filter((line) => / name=notifications-bus /.test(line))
      .map((line) => /\bid=(\d+)/.exec(line)![1]);
    for (const id of ids) await admin.client('KILL', 'ID', id);
    return ids.length;
  } finally {
    admin.disconnect();
  }
}

/** One request on a fresh connection: the status, or the connection error's code. */
function probe(url: string): Promise<string> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false }, (res) => {
      res.resume();
      resolve(String(res.statusCode));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
  });
}
