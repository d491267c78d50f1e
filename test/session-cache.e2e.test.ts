import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { SessionRevocations } from '../src/auth/session-revocations.js';
import { SessionSerializer } from '../src/auth/session.serializer.js';
import { startTestApp, type TestApp } from './support/app.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from './support/cluster.js';
import { Client } from './support/http.js';
import { instancePair } from './support/instance-pair.js';
import { adminClient } from './support/shop.js';
import { openStream } from './support/sse.js';

/** connect-pg-simple's read of one session (src/auth/session.middleware.ts). */
const SESSION_READ = 'SELECT sess FROM';

/** A client of `to` holding the same cookies (and so the same session) as `from`. */
function sameSession(from: Client, to: string): Client {
  const copy = new Client(to);
  for (const [k, v] of from.cookies) copy.cookies.set(k, v);
  copy.csrfToken = from.csrfToken;
  return copy;
}

describe('the session cache on one instance', () => {
  let t: TestApp;
  let sessionReads = 0;
  beforeAll(async () => {
    t = await startTestApp();
    // Every session read of the app goes through its TypeORM pool (connect-pg-simple is given it).
    const pool = (t.app.get(DataSource).driver as unknown as { master: pg.Pool }).master;
    const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
    (pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].startsWith(SESSION_READ)) sessionReads++;
      return query(...args);
    };
  });
  afterAll(async () => {
    await t.close();
  });

  it('50 authenticated requests, reads and CSRF-checked writes, read the session row once', async () => {
    const c = new Client(t.baseUrl);
    await c.signUp('steady@example.com');
    const before = sessionReads;
    for (let i = 0; i < 25; i++) {
      expect((await c.get('/auth/me')).status).toBe(200);
      expect((await c.post('/notifications/read-all', {})).status).toBe(204);
    }
    expect(sessionReads - before).toBe(1);
    // A wrong token is still refused with the session served from the cache.
    expect((await c.post('/notifications/read-all', {}, { csrf: 'forged' })).status).toBe(403);
  });

  it('requests of a cached session take the fast path: Passport does not read their user, the CSRF check stays', async () => {
    const serializer = t.app.get(SessionSerializer);
    let deserialized = 0;
    const deserializeUser = serializer.deserializeUser.bind(serializer);
    serializer.deserializeUser = (id, done) => {
      deserialized++;
      deserializeUser(id, done);
    };
    try {
      const c = new Client(t.baseUrl);
      const me = await c.signUp('fast@example.com');
      const first = await c.get('/auth/me');
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({ id: me.id, email: 'fast@example.com' });
      const before = deserialized;
      for (let i = 0; i < 10; i++) {
        const res = await c.get('/auth/me');
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ id: me.id });
        expect((await c.post('/notifications/read-all', {})).status).toBe(204);
      }
      expect(deserialized - before).toBe(0);
      expect((await c.post('/notifications/read-all', {}, { csrf: 'forged' })).status).toBe(403);
      expect((await c.post('/notifications/read-all', {}, { csrf: false })).status).toBe(403);
      // Sign-out still runs express-session and Passport: the session is gone after it.
      const kept = sameSession(c, t.baseUrl);
      expect((await c.post('/auth/logout')).status).toBe(204);
      expect((await kept.get('/auth/me')).status).toBe(401);
    } finally {
      serializer.deserializeUser = deserializeUser;
    }
  });

  it('a role change or a disable signs the user out at the next request, the session cached or not', async () => {
    const admin = await adminClient(t);
    for (const change of [{ role: 'admin' }, { disabled: true }]) {
      const c = new Client(t.baseUrl);
      const user = await c.signUp(`changed-${Object.keys(change)[0]}@example.com`);
      expect((await c.get('/auth/me')).status).toBe(200);
      expect((await c.get('/auth/me')).status).toBe(200); // from the cache
      expect((await admin.request('PATCH', `/admin/users/${user.id}`, change)).status).toBe(200);
      expect((await c.get('/auth/me')).status).toBe(401);
    }
  });

  it('a cached session is not served past its own expiry', async () => {
    const c = new Client(t.baseUrl);
    const user = await c.signUp('expiring@example.com');
    // The first request after sign-in pushes the row's expiry (touch); none follows for 5 minutes.
    expect((await c.get('/auth/me')).status).toBe(200);
    const { rows } = await t.db.query(`SELECT sid, sess FROM sessions WHERE sess #>> '{passport,user}' = $1`, [
      user.id,
    ]);
    expect(rows.length).toBe(1);
    const expires = new Date(Date.now() + 2000);
    const sess = { ...rows[0].sess, cookie: { ...rows[0].sess.cookie, expires: expires.toISOString() } };
    await t.db.query(`UPDATE sessions SET sess = $2, expire = $3 WHERE sid = $1`, [rows[0].sid, sess, expires]);
    // As after a bus gap: nothing cached is trusted, so the next request reads the row changed above.
    t.app.get(SessionRevocations).mayHaveMissed();

    const before = sessionReads;
    expect((await c.get('/auth/me')).status).toBe(200);
    expect((await c.get('/auth/me')).status).toBe(200);
    expect(sessionReads - before).toBe(1); // cached, though it expires in 2 s
    await new Promise((resolve) => setTimeout(resolve, expires.getTime() - Date.now() + 1100));
    expect((await c.get('/auth/me')).status).toBe(401);
    expect(sessionReads - before).toBe(2); // asked the store again, which no longer has it
  });
});

/**
 * Two real instances on one database (Passport is a process-wide singleton, so two apps in one
 * process would share a serializer). What one instance changes, the other must not keep serving
 * from its cache.
 */
describe('the session cache across two instances (postgres bus)', () => {
  const pair = instancePair();

  const sessionOf = async (userId: string): Promise<string> => {
    const { rows } = await pair.db.query(`SELECT sid FROM sessions WHERE sess #>> '{passport,user}' = $1`, [userId]);
    expect(rows.length).toBe(1);
    return rows[0].sid as string;
  };

  it('a logout on A ends the session on B, which had it cached', async () => {
    const carolOnA = new Client(pair.a.baseUrl);
    const carol = await carolOnA.signUp('carol@example.com');
    const carolOnB = sameSession(carolOnA, pair.b.baseUrl);
    expect((await carolOnB.get('/auth/me')).status).toBe(200);
    // B serves the session from its cache: even with the row expired behind its back, it answers.
    const sid = await sessionOf(carol.id);
    const { rows } = await pair.db.query(`SELECT expire FROM sessions WHERE sid = $1`, [sid]);
    await pair.db.query(`UPDATE sessions SET expire = now() - interval '1 hour' WHERE sid = $1`, [sid]);
    expect((await carolOnB.get('/auth/me')).status).toBe(200);
    await pair.db.query(`UPDATE sessions SET expire = $2 WHERE sid = $1`, [sid, rows[0].expire]);
    // Its end tells that B has handled the revocation (the cache is evicted before streams end).
    const streamOnB = await openStream(pair.b.baseUrl, carolOnB.cookieHeader);
    await streamOnB.waitForEvent('ready');

    expect((await carolOnA.post('/auth/logout')).status).toBe(204);
    await streamOnB.waitForEnd();
    expect((await carolOnB.get('/auth/me')).status).toBe(401);
  });

  it('a disable on A signs the user out on B, which had the session cached', async () => {
    const admin = new Client(pair.a.baseUrl);
    expect((await admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)).status).toBe(200);
    const frankOnA = new Client(pair.a.baseUrl);
    const frank = await frankOnA.signUp('frank@example.com');
    const frankOnB = sameSession(frankOnA, pair.b.baseUrl);
    expect((await frankOnB.get('/auth/me')).status).toBe(200);
    const streamOnB = await openStream(pair.b.baseUrl, frankOnB.cookieHeader);
    await streamOnB.waitForEvent('ready');

    expect((await admin.request('PATCH', `/admin/users/${frank.id}`, { disabled: true })).status).toBe(200);
    await streamOnB.waitForEnd();
    expect((await frankOnB.get('/auth/me')).status).toBe(401);
  });

  it('a session read on B before it had a CSRF token accepts the token A then gives it', async () => {
    const daveOnA = new Client(pair.a.baseUrl);
    const dave = await daveOnA.signUp('dave@example.com');
    // A signed-in session without a token (one from before tokens were stored, say).
    await pair.db.query(`UPDATE sessions SET sess = (sess::jsonb - 'csrfToken')::json WHERE sid = $1`, [
      await sessionOf(dave.id),
    ]);
    const daveOnB = sameSession(daveOnA, pair.b.baseUrl);
    expect((await daveOnB.get('/auth/me')).status).toBe(200);

    const token = await daveOnA.fetchCsrf();
    expect((await daveOnB.post('/notifications/read-all', {}, { csrf: token })).status).toBe(204);
  });

  it('a sign-in over a signed-in session voids the old session id on B too', async () => {
    const erinOnA = new Client(pair.a.baseUrl);
    await erinOnA.signUp('erin@example.com');
    const oldOnB = sameSession(erinOnA, pair.b.baseUrl);
    expect((await oldOnB.get('/auth/me')).status).toBe(200); // B caches the old session
    const streamOnB = await openStream(pair.b.baseUrl, oldOnB.cookieHeader);
    await streamOnB.waitForEvent('ready');

    expect((await erinOnA.login('erin@example.com')).status).toBe(200);
    expect(erinOnA.cookies.get('sid')).not.toBe(oldOnB.cookies.get('sid'));
    await streamOnB.waitForEnd();
    expect((await oldOnB.get('/auth/me')).status).toBe(401);
    expect((await sameSession(erinOnA, pair.b.baseUrl).get('/auth/me')).status).toBe(200);
  });
});
