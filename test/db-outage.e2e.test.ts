import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { type EmbeddedServer, freePort, startEmbeddedPostgres } from '../src/database/embedded-postgres.js';
import { ensureDatabase } from '../src/database/ensure-database.js';
import { Instance, eventually } from './support/cluster.js';
import { Client } from './support/http.js';
import { type PublisherApp, draft, startPublisherApp } from './support/publisher-app.js';
import { PausableStream } from './support/pausable-stream.js';
import { insertUnannounced } from './support/silent-insert.js';
import { openStream } from './support/sse.js';

/**
 * A PostgreSQL of this test's own (the shared test server must stay up), on a
 * fixed port and a kept data directory, so it can be stopped and started again
 * under two running instances of the service.
 */
describe('PostgreSQL stopped and started under running instances', () => {
  let dir: string;
  let port: number;
  let server: EmbeddedServer | null = null;
  let url: string;
  let a: Instance;
  let b: Instance;
  let publisher: PublisherApp | null = null;

  const startPostgres = async () => {
    server = await startEmbeddedPostgres({
      databaseDir: join(dir, 'data'),
      port,
      settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
    });
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'notif-outage-pg-'));
    chmodSync(dir, 0o755); // the server runs as the "postgres" user when we are root
    port = await freePort();
    await startPostgres();
    url = await ensureDatabase(server!.url, 'outage');
    // The database poll is off: after the outage only the reconnected bus can wake a feed.
    const env = { FEED_POLL_MS: '600000', HEARTBEAT_MS: '300' };
    [a, b] = await Promise.all([
      Instance.start({ databaseUrl: url, env, name: 'A' }),
      Instance.start({ databaseUrl: url, env, name: 'B' }),
    ]);
  });

  afterAll(async () => {
    await publisher?.close();
    await Promise.all([a?.stop(), b?.stop()]);
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('503 (never anonymous) while it is down, open streams stay open or end cleanly, everything recovers by itself', async () => {
    const alice = new Client(a.baseUrl);
    const user = await alice.signUp('alice@example.com');
    const stream = await openStream(b.baseUrl, alice.cookieHeader, { lastEventId: '0' });
    await stream.waitForEvent('ready');
    const anonymous = new Client(a.baseUrl);
    // A second user resumes from 0 with a long history (3,000 × 4 KB) and reads slowly: the
    // outage hits in the middle of its replay.
    const reader = new Client(a.baseUrl);
    const readerUser = await reader.signUp('reader@example.com');
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    await pool.query(
      `INSERT INTO notifications (user_id, channel, type, severity, title, body, data)
       SELECT $1, 'order', 'order.placed', 'info', 'History ' || i, repeat('h', 4000), '{}' FROM generate_series(1, 3000) AS i`,
      [readerUser.id],
    );
    const history = (
      await pool.query(`SELECT id FROM notifications WHERE user_id = $1 ORDER BY id`, [readerUser.id])
    ).rows.map((r) => String(r.id));
    await pool.end();
    const replaying = await PausableStream.open(`${a.baseUrl}/notifications/stream`, {
      cookie: reader.cookieHeader,
      'last-event-id': '0',
    });
    replaying.pause();

    await server!.stop();
    server = null;
    try {
      // Every path that needs the database answers 503 JSON, including the session lookup itself.
      await eventually(async () => (await fetch(`${a.baseUrl}/health`)).status === 503, '/health 503', 15_000);
      // A pre-login CSRF token is stateless (issue 13): it needs no database, and sign-in with it
      // then meets the outage.
      expect((await anonymous.get('/auth/csrf')).status).toBe(200);
      const during = {
        me: await alice.get('/auth/me'),
        inbox: await alice.get('/notifications'),
        login: await anonymous.post('/auth/login', { email: 'alice@example.com', password: 'password-123' }),
        stream: await openStream(a.baseUrl, alice.cookieHeader),
      };
      for (const [what, answer] of Object.entries(during)) {
        // the route's name in the comparison, so a failure says which one answered what
        expect([what, answer.status, 'text' in answer ? answer.text : answer.raw]).toStrictEqual([
          what,
          503,
          expect.anything(),
        ]);
      }
      expect(during.me.body).toStrictEqual({ statusCode: 503, message: 'Service temporarily unavailable' });

      expect((await fetch(`${b.baseUrl}/health`)).status).toBe(503);

      // The open stream: still alive (heartbeats keep coming) or ended, never an error event.
      const pings = stream.comments.length;
      await stream.until(() => stream.comments.length > pings + 2 || stream.ended, 'heartbeats or a clean end');
      expect(!stream.events.some((e) => e.event === 'error')).toBeTruthy(); // stream.raw
      expect(a.running && b.running).toBeTruthy(); // no instance crashed
      console.log(`# the stream open during the outage ${stream.ended ? 'ended' : 'stayed open'}`);
      // The interrupted replay: what it got is a prefix of the history, then a clean end (or, had
      // it finished before the outage, the whole history); never an error event.
      replaying.resume();
      await eventually(
        () => replaying.ended || replaying.ids.length === history.length,
        'the replay ends or completes',
        30_000,
      );
      expect(!replaying.eventNames.includes('error')).toBeTruthy(); // no error event
      expect(replaying.ids).toStrictEqual(history.slice(0, replaying.ids.length));
      console.log(
        `# the replay under the outage ${replaying.ended ? `ended cleanly after ${replaying.ids.length} of ${history.length}` : 'completed first'}`,
      );
    } finally {
      await startPostgres();
    }

    // Back without a restart: health, the same session, new streams, and the bus.
    await Promise.all([a.waitHealthy(30_000), b.waitHealthy(30_000)]);
    expect((await alice.get('/auth/me')).status).toBe(200);
    publisher = await startPublisherApp(url, { FEED_POLL_MS: '600000' });
    const fresh = await openStream(a.baseUrl, alice.cookieHeader);
    await fresh.waitForEvent('ready');
    const ids = await publisher.publish([draft(user.id, 1), draft(user.id, 2)]);
    await fresh.waitForNotifications(2);
    expect(fresh.notifications.map((e) => e.id)).toStrictEqual(ids);
    if (!stream.ended) {
      await stream.waitForNotifications(2);
      expect(stream.notifications.map((e) => e.id)).toStrictEqual(ids);
    }
    fresh.close();
    stream.close();
    // The reader resumes from the last id it really received and gets the rest of its history.
    const rest = await openStream(b.baseUrl, reader.cookieHeader, {
      lastEventId: replaying.ids[replaying.ids.length - 1] ?? '0',
    });
    await rest.waitForNotifications(history.length - replaying.ids.length, 30_000);
    expect([...replaying.ids, ...rest.notifications.map((e) => e.id)]).toStrictEqual(history);
    rest.close();
    expect(a.running && b.running).toBeTruthy(); // no instance crashed
    // 503s are logged as warnings; an ERROR line would be a 500 or a crash.
    expect(a.output + b.output).not.toMatch(/ERROR|Unhandled|uncaught/); // (a.output + b.output).slice(-4000)
  });

  it('a listening connection that goes silent (its backend frozen) is found by the periodic check and replaced; a logout it missed still ends the stream', async () => {
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    const frozen: number[] = [];
    try {
      const bob = new Client(a.baseUrl);
      const user = await bob.signUp('bob@example.com');
      const streams = await Promise.all([
        openStream(a.baseUrl, bob.cookieHeader),
        openStream(b.baseUrl, bob.cookieHeader),
      ]);
      await Promise.all(streams.map((s) => s.waitForEvent('ready')));
      const carol = new Client(a.baseUrl);
      await carol.signUp('carol@example.com');
      const carolOnB = await openStream(b.baseUrl, carol.cookieHeader);
      await carolOnB.waitForEvent('ready');
      const listeners = async () =>
        (
          await pool.query(
            `SELECT pid FROM pg_stat_activity WHERE application_name = 'notifications-bus' AND datname = current_database()`,
          )
        ).rows.map((r) => Number(r.pid));
      // Every listener (A's, B's, the publisher's): their sockets stay open, nothing answers.
      for (const pid of await listeners()) {
        process.kill(pid, 'SIGSTOP');
        frozen.push(pid);
      }
      expect(frozen.length >= 2).toBeTruthy();
      const id = await insertUnannounced(pool, user.id);
      // The revocation's bus message goes to B's frozen listener and is lost with it.
      expect((await carol.post('/auth/logout')).status).toBe(204);
      // The 5-second check times out, each instance opens a new listener and catches up.
      await Promise.all(streams.map((s) => s.waitForNotifications(1, 30_000)));
      for (const s of streams) expect(s.notifications.map((e) => e.id)).toStrictEqual([id]);
      // B re-checked its open streams against the database after reconnecting.
      await carolOnB.waitForEnd(10_000);
      expect(streams[1].ended).toBe(false); // a stream whose session is valid stays
      const now = await listeners();
      expect(now.some((pid) => !frozen.includes(pid))).toBeTruthy(); // new listening connections
      streams.forEach((s) => s.close());
    } finally {
      for (const pid of frozen) {
        process.kill(pid, 'SIGCONT');
        // Only if it is still this database's backend: once it exits, its pid may be another test's.
        await pool
          .query(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = $1 AND datname = current_database()`,
            [pid],
          )
          .catch(() => undefined);
      }
      await pool.end();
    }
  });
});
