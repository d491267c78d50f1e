import { describe, expect, it } from '@jest/globals';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from './cluster.js';
import { Client } from './http.js';
import { instancePair } from './instance-pair.js';
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
    const pair = instancePair(async () => {
      const redis = await redisUrl();
      return [
        { redisUrl: redis, name: 'A' },
        { redisUrl: redis, name: 'B' },
      ];
    });

    it('a role change on A evicts the user cached on B: B answers the next request with the new role', async () => {
      const carolOnA = new Client(pair.a.baseUrl);
      const carol = await carolOnA.signUp('carol@example.com');
      const carolOnB = new Client(pair.b.baseUrl);
      for (const [k, v] of carolOnA.cookies) carolOnB.cookies.set(k, v);
      expect((await carolOnB.get('/auth/me')).body.role).toBe('user'); // B caches carol
      // Its end tells that B has handled the revocation (the cache is evicted before streams end).
      const streamOnB = await openStream(pair.b.baseUrl, carolOnB.cookieHeader);
      await streamOnB.waitForEvent('ready');

      const { rows: saved } = await pair.db.query(
        `SELECT sid, sess, expire FROM sessions WHERE sess #>> '{passport,user}' = $1`,
        [carol.id],
      );
      expect(saved.length).toBe(1);
      const admin = new Client(pair.a.baseUrl);
      expect((await admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)).status).toBe(200);
      expect((await admin.request('PATCH', `/admin/users/${carol.id}`, { role: 'admin' })).status).toBe(200);
      await streamOnB.waitForEnd();

      // The revocation deleted the session; restore it so only the cache stands between B and the old role.
      for (const s of saved)
        await pair.db.query(`INSERT INTO sessions (sid, sess, expire) VALUES ($1, $2, $3)`, [s.sid, s.sess, s.expire]);
      const me = await carolOnB.get('/auth/me');
      expect(me.status).toBe(200);
      expect(me.body.role).toBe('admin');
    });
  });
}
