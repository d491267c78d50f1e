import { expect } from '@jest/globals';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { endPool, freshDatabase } from './app.js';
import { Instance, eventually } from './cluster.js';
import { Client } from './http.js';
import { RedisServer } from './redis.js';
import { ResumingClient } from './resuming-client.js';

const PUBLISHER_JS = fileURLToPath(new URL('../../dist/test/support/chaos-publisher.js', import.meta.url));

export interface ChaosOptions {
  bus: 'postgres' | 'redis';
  /** Notifications in all (split between two publishing processes of 4 workers each). */
  total?: number;
  /** How long the publishers take, roughly. */
  publishMs?: number;
  users?: number;
  clientsPerUser?: number;
  instances?: number;
}

export interface ChaosReport {
  published: number;
  delivered: number;
  /** Sum over clients of what their user has: delivered must equal it. */
  expectedDeliveries: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  reconnects: number;
  events: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const between = (lo: number, hi: number) => lo + Math.random() * (hi - lo);

/**
 * The chaos run: N instances of the built service, 8 concurrent publishers in
 * two other processes, clients that hop between instances at random with
 * their Last-Event-ID, while an instance is kill -9'ed and restarted (twice),
 * the bus's connections are cut (pg_terminate_backend on the Postgres bus,
 * a kill -9 and restart of redis-server on the Redis one). The database poll
 * is off (FEED_POLL_MS = 10 min): live delivery rests on the bus and its
 * catch-up after a reconnect. At the end every client must hold exactly its
 * user's notifications as the database has them, ascending, none twice.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const {
    bus,
    total = 10_000,
    publishMs = 25_000,
    users: userCount = 4,
    clientsPerUser = 2,
    instances: instanceCount = 3,
  } = options;
  const events: string[] = [];
  const t0 = Date.now();
  const log = (what: string) => events.push(`${((Date.now() - t0) / 1000).toFixed(1)}s ${what}`);

  const database = await freshDatabase();
  const db = new pg.Pool({ connectionString: database.url, max: 2 });
  const redis = bus === 'redis' ? await RedisServer.start() : null;
  const env = { FEED_POLL_MS: '600000', HEARTBEAT_MS: '2000', MAX_STREAMS_PER_USER: '50' };
  const nodes: Instance[] = [];
  const up = new Set<number>();
  const clients: ResumingClient[] = [];
  const publishers: Array<ReturnType<typeof spawn>> = [];
  try {
    nodes.push(
      ...(await Promise.all(
        Array.from({ length: instanceCount }, (_, i) =>
          Instance.start({ databaseUrl: database.url, redisUrl: redis?.url, env, name: `i${i}` }),
        ),
      )),
    );
    nodes.forEach((_, i) => up.add(i));
    log(`${instanceCount} instances up on the ${bus} bus`);
    const pickInstance = () => {
      const live = [...up];
      return live.length ? nodes[live[Math.floor(Math.random() * live.length)]].baseUrl : null;
    };

    // Users, each signed in once per client (separate sessions), all starting from the very beginning.
    const userIds: string[] = [];
    for (let u = 0; u < userCount; u++) {
      const email = `chaos${u}@example.com`;
      const first = new Client(nodes[u % instanceCount].baseUrl);
      userIds.push((await first.signUp(email)).id);
      for (let c = 0; c < clientsPerUser; c++) {
        const session = c === 0 ? first : new Client(nodes[(u + c) % instanceCount].baseUrl);
        if (c > 0 && (await session.login(email)).status !== 200) throw new Error(`login ${email}`);
        clients.push(new ResumingClient(`${email}#${c}`, session.cookieHeader, pickInstance, '0'));
      }
    }
    clients.forEach((c) => c.connect());
    await eventually(() => clients.every((c) => c.connects >= 1), 'every client connected', 15_000);

    // Publishers: two processes × 4 workers = 8 concurrent publishers.
    const results: Array<Promise<{ published: number; retries: number }>> = [];
    for (let p = 0; p < 2; p++) {
      const child = spawn(process.execPath, [PUBLISHER_JS], {
        env: {
          PATH: process.env.PATH ?? '',
          NODE_ENV: 'test',
          DATABASE_URL: database.url,
          ...(redis ? { REDIS_URL: redis.url } : {}),
          USER_IDS: userIds.join(','),
          COUNT: String(p === 0 ? Math.floor(total / 2) : total - Math.floor(total / 2)),
          WORKERS: '4',
          DURATION_MS: String(publishMs),
          LABEL: `p${p}`,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      publishers.push(child);
      let out = '';
      child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
      results.push(
        new Promise((resolve, reject) =>
          child.once('exit', (code) => {
            const line = out.trim().split('\n').pop() ?? '';
            if (code !== 0) return reject(new Error(`publisher p${p} exited ${code}:\n${out.slice(-3000)}`));
            try {
              resolve(JSON.parse(line));
            } catch {
              reject(new Error(`publisher p${p} printed no result:\n${out.slice(-3000)}`));
            }
          }),
        ),
      );
    }
    log('8 publishers started');
    let publishing = true;
    const allPublished = Promise.all(results).finally(() => (publishing = false));

    // Clients hop between instances at random intervals.
    const hopping = clients.map(async (c) => {
      while (publishing) {
        await sleep(between(300, 2000));
        if (publishing) c.hop();
      }
    });

    const killAndRestart = async (i: number) => {
      up.delete(i);
      await nodes[i].kill('SIGKILL');
      log(`kill -9 ${nodes[i].name}`);
      await sleep(between(500, 1500));
      nodes[i] = await nodes[i].restart();
      up.add(i);
      log(`${nodes[i].name} restarted`);
    };

    const cutBus = async () => {
      if (bus === 'postgres') {
        const { rows } = await db.query(
          `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = 'notifications-bus' AND datname = current_database()`,
        );
        expect(rows.length >= instanceCount - 1).toBeTruthy(); // `found the listening connections (${rows.length})`
        log(`pg_terminate_backend on ${rows.length} listening connections`);
      } else {
        await redis!.kill();
        log('kill -9 redis-server');
        // While Redis is away the instances say so.
        await eventually(
          async () => (await fetch(`${nodes[[...up][0]].baseUrl}/health`)).status === 503,
          '/health 503 without Redis',
          10_000,
        );
        await sleep(between(500, 1500));
        await redis!.restart();
        log('redis-server restarted');
      }
    };

    const chaos = (async () => {
      await sleep(publishMs * 0.15);
      await killAndRestart(1 % instanceCount);
      await sleep(publishMs * 0.1);
      await cutBus();
      await sleep(publishMs * 0.15);
      await killAndRestart(2 % instanceCount);
      await sleep(publishMs * 0.1);
      await cutBus();
    })();

    const [counts] = await Promise.all([allPublished, chaos]);
    await Promise.all(hopping);
    log(`publishers done: ${counts.map((c) => `${c.published} (${c.retries} retries)`).join(', ')}`);
    await Promise.all(nodes.map((n) => n.waitHealthy(30_000)));

    // Settle: every client on a live stream until it has everything its user has (or a deadline).
    const expected = new Map<string, number[]>();
    for (const id of userIds) {
      expected.set(
        id,
        (await db.query(`SELECT id FROM notifications WHERE user_id = $1 ORDER BY id`, [id])).rows.map((r) =>
          Number(r.id),
        ),
      );
    }
    const [{ count: published }] = (await db.query(`SELECT count(*)::int AS count FROM notifications`)).rows;
    await Promise.all(
      clients.map((c, i) => {
        const want = expected.get(userIds[Math.floor(i / clientsPerUser)])!;
        return c
          .until(() => c.received.length >= want.length, `${want.length} notifications`, 30_000)
          .catch(() => undefined);
      }),
    );
    clients.forEach((c) => c.stop());
    log('settled');

    let delivered = 0;
    let expectedDeliveries = 0;
    let lost = 0;
    let duplicated = 0;
    let outOfOrder = 0;
    let reconnects = 0;
    clients.forEach((c, i) => {
      const want = expected.get(userIds[Math.floor(i / clientsPerUser)])!;
      const got = new Set(c.received);
      delivered += c.received.length;
      expectedDeliveries += want.length;
      lost += want.filter((id) => !got.has(id)).length;
      duplicated += c.duplicates;
      outOfOrder += c.outOfOrder;
      reconnects += c.connects - 1;
    });
    const report = { published, delivered, expectedDeliveries, lost, duplicated, outOfOrder, reconnects, events };
    printReport(bus, report);
    clients.forEach((c, i) => {
      const want = expected.get(userIds[Math.floor(i / clientsPerUser)])!;
      // Nothing but its user's notifications, exactly, in order.
      expect(c.received).toStrictEqual(want); // `${c.name}: received ≠ the database (${c.received.length} vs ${want.length})`
    });
    return report;
  } finally {
    clients.forEach((c) => c.stop());
    publishers.forEach((p) => p.exitCode === null && p.kill('SIGKILL'));
    await Promise.all(nodes.map((n) => n.stop()));
    await redis?.stop();
    await endPool(db);
    await database.drop();
  }
}

/** The counts, printed as the issue asks. */
export function printReport(bus: string, r: ChaosReport): void {
  console.log(`# chaos run (${bus} bus):`);
  for (const e of r.events) console.log(`#   ${e}`);
  console.log(
    `#   published ${r.published}, delivered ${r.delivered} (of ${r.expectedDeliveries} due to ${r.expectedDeliveries / Math.max(1, r.published)}× clients per user), ` +
      `lost ${r.lost}, duplicated ${r.duplicated}, ` +
      `out of order ${r.outOfOrder}, client reconnects ${r.reconnects}`,
  );
}
