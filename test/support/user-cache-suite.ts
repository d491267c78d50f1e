import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { freshDatabase } from './app.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, Instance } from './cluster.js';
import { Client } from './http.js';
import { openStream } from './sse.js';

/**
 * The user of a session is cached per instance; revocations (role change,
 * disabled account) evict it on every instance through the bus. Sessions of a
 * revoked user are deleted as well, so to see the cache alone this test puts
 * the deleted session row back: instance B must then answer with the new
 * role, not the one it cached. Real processes: Passport is a process-wide
 * singleton, so two apps in one process would share one serializer and cache.
 */
export function userCacheSuite(bus: 'postgres' | 'redis', redisUrl: () => Promise<string | undefined>): void {
  describe(`the session user cache across two instances (${bus} bus)`, () => {
    let database: { url: string; drop: () => Promise<void> };
    let db: pg.Pool;
    let a: Instance;
    let b: Instance;
    beforeAll(async () => {
      database = await freshDatabase();
      db = new pg.Pool({ connectionString: database.url, max: 2 });
      const redis = await redisUrl();
      [a, b] = await Promise.all([
        Instance.start({ databaseUrl: database.url, redisUrl: redis, name: 'A' }),
        Instance.start({ databaseUrl: database.url, redisUrl: redis, name: 'B' }),
      ]);
    });
    afterAll(async () => {
      await Promise.all([a?.stop(), b?.stop()]);
      await db?.end();
      await database?.drop();
    });

    it('a role change on A evicts the user cached on B: B answers the next request with the new role', async () => {
      const carolOnA = new Client(a.baseUrl);
      const carol = await carolOnA.signUp('carol@example.com');
      const carolOnB = new Client(b.baseUrl);
      for (const [k, v] of carolOnA.cookies) carolOnB.cookies.set(k, v);
      expect((await carolOnB.get('/auth/me')).body.role).toBe('user'); // B caches carol
      // Its end tells that B has handled the revocation (the cache is evicted before streams end).
      const streamOnB = await openStream(b.baseUrl, carolOnB.cookieHeader);
      await streamOnB.waitForEvent('ready');

      const { rows: saved } = await db.query(
        `SELECT sid, sess, expire FROM sessions WHERE sess #>> '{passport,user}' = $1`,
        [carol.id],
      );
      expect(saved.length).toBe(1);
      const admin = new Client(a.baseUrl);
      expect((await admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)).status).toBe(200);
      expect((await admin.request('PATCH', `/admin/users/${carol.id}`, { role: 'admin' })).status).toBe(200);
      await streamOnB.waitForEnd();

      // The revocation deleted the session; restore it so only the cache stands between B and the old role.
      for (const s of saved)
        await db.query(`INSERT INTO sessions (sid, sess, expire) VALUES ($1, $2, $3)`, [s.sid, s.sess, s.expire]);
      const me = await carolOnB.get('/auth/me');
      expect(me.status).toBe(200);
      expect(me.body.role).toBe('admin');
    });
  });
}
