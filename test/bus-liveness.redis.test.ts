import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { endPool, freshDatabase } from './support/app.js';
import { Instance, eventually } from './support/cluster.js';
import { Client } from './support/http.js';
import { RedisServer } from './support/redis.js';
import { insertUnannounced } from './support/silent-insert.js';
import { openStream } from './support/sse.js';

/** A redis-server of the test's own, which it freezes, kills and leaves away at boot. */
describe('the Redis bus when Redis fails', () => {
  let database: { url: string; drop: () => Promise<void> };
  let db: pg.Pool;
  let redis: RedisServer;
  const instances: Instance[] = [];
  const env = { FEED_POLL_MS: '600000', HEARTBEAT_MS: '1000' };
  const health = async (i: Instance) => (await fetch(`${i.baseUrl}/health`)).status;

  beforeAll(async () => {
    database = await freshDatabase();
    db = new pg.Pool({ connectionString: database.url, max: 2 });
    redis = await RedisServer.start();
  });

  afterAll(async () => {
    await Promise.all(instances.map((i) => i.stop()));
    await redis?.stop();
    if (db) await endPool(db);
    await database?.drop();
  });

  it('a frozen Redis (no error, no answer) is detected by the periodic check: 503, then catch-up once it answers again', async () => {
    const a = await Instance.start({ databaseUrl: database.url, redisUrl: redis.url, env });
    instances.push(a);
    await a.waitHealthy();
    const c = new Client(a.baseUrl);
    const user = await c.signUp('frozen@example.com');
    const stream = await openStream(a.baseUrl, c.cookieHeader);
    await stream.waitForEvent('ready');

    redis.pause();
    await eventually(async () => (await health(a)) === 503, '/health 503 while Redis does not answer', 20_000, 200);
    const id = await insertUnannounced(db, user.id);
    redis.resume();
    await a.waitHealthy(20_000);
    await stream.waitForNotifications(1, 20_000);
    expect(stream.notifications.map((e) => e.id)).toStrictEqual([id]);
    expect(stream.ended).toBe(false); // the stream stayed open throughout
    stream.close();
  });

  it('unreachable at boot: the instance starts, reports 503 and says why; it connects and catches up when Redis comes', async () => {
    await redis.kill();
    const b = await Instance.start({ databaseUrl: database.url, redisUrl: redis.url, env });
    instances.push(b);
    await b.waitForOutput(/Redis at REDIS_URL is unreachable/);
    expect(await health(b)).toBe(503);
    const c = new Client(b.baseUrl);
    const user = await c.signUp('early@example.com');
    const stream = await openStream(b.baseUrl, c.cookieHeader);
    expect(stream.status).toBe(200); // streams are served meanwhile
    await stream.waitForEvent('ready');
    const id = await insertUnannounced(db, user.id);

    await redis.restart();
    await b.waitHealthy(20_000);
    await stream.waitForNotifications(1, 20_000);
    expect(stream.notifications.map((e) => e.id)).toStrictEqual([id]);
    stream.close();
  });
});
