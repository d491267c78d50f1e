import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { verifyPassword } from '../src/users/password.js';
import { startTestApp, type TestApp } from './support/app.js';
import { Client } from './support/http.js';
import { openStream } from './support/sse.js';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';

/** Issue 13, the authentication half: each finding reproduced over HTTP against real Postgres. */
let t: TestApp;
beforeAll(async () => {
  // Loopback is a trusted proxy, so that a test can speak for other addresses (X-Forwarded-For).
  t = await startTestApp({ HEARTBEAT_MS: '200', TRUST_PROXY: '127.0.0.1' });
});
afterAll(async () => {
  await t.close();
});

const count = async (sql: string, params: unknown[] = []) => Number((await t.db.query(sql, params)).rows[0].count);

describe('password hashing stays off the event loop (finding 1)', () => {
  it('reads a hash written by hash-wasm (the stored format) and refuses a wrong password', async () => {
    const fromHashWasm =
      '$argon2id$v=19$m=19456,t=2,p=1$eSpM/EjrWK5DLRF9gtfBSw$UFQvCByLVvOxzgDe6QUGEWmqyHN0zsWHxJzeq1BC3/g';
    expect(await verifyPassword('secret123', fromHashWasm)).toBe(true);
    expect(await verifyPassword('secret124', fromHashWasm)).toBe(false);
    expect(await verifyPassword('secret123', 'not a hash')).toBe(false);
  });

  it('/health and an open stream stay prompt while 20 sign-ups and 10 unknown-email sign-ins hash', async () => {
    const viewer = new Client(t.baseUrl);
    await viewer.signUp('viewer@example.com');
    const stream = await openStream(t.baseUrl, viewer.cookieHeader);
    expect(stream.status).toBe(200);
    const beats: number[] = [];
    const push = stream.comments.push.bind(stream.comments);
    stream.comments.push = (...c: string[]) => {
      beats.push(Date.now());
      return push(...c);
    };
    const clients = Array.from({ length: 20 }, () => new Client(t.baseUrl));
    await Promise.all(clients.map((c) => c.fetchCsrf()));

    let hashing = true;
    const healthTimes: number[] = [];
    const probe = (async () => {
      while (hashing) {
        const started = performance.now();
        const res = await fetch(`${t.baseUrl}/health`);
        await res.text();
        expect(res.status).toBe(200);
        healthTimes.push(performance.now() - started);
        // A sample every 25 ms rather than back to back, so that the probe itself does not keep
        // the event loop busy and its utilisation measures the server's work.
        await delay(25);
      }
    })();
    const started = Date.now();
    const eluBefore = performance.eventLoopUtilization();
    const answers = await Promise.all(
      clients.flatMap((c, i) => [
        c.register(`burst-${i}@example.com`, 'password-123'),
        // Unknown emails verify a dummy hash; 10 of them, under the per-address failure limit.
        ...(i % 2 === 0 ? [c.post('/auth/login', { email: `nobody-${i}@example.com`, password: 'password-123' })] : []),
      ]),
    );
    const elapsed = Date.now() - started;
    const elu = performance.eventLoopUtilization(eluBefore).utilization;
    hashing = false;
    await probe;
    stream.close();
    expect(answers.map((a) => a.status).sort()).toStrictEqual([...Array(20).fill(201), ...Array(10).fill(401)]);
    const gaps = beats.slice(1).map((b, i) => b - beats[i]);
    const healthMax = Math.max(...healthTimes);
    const gapMax = Math.max(0, ...gaps);
    console.log(
      `20 sign-ups + 10 sign-ins in ${elapsed} ms; event loop busy ${(elu * 100).toFixed(0)}%; ` +
        `/health max ${healthMax.toFixed(1)} ms over ${healthTimes.length} probes; heartbeat gaps max ${gapMax} ms`,
    );
    expect(healthTimes.length).toBeGreaterThan(0);
    // Hashing on the event loop keeps it busy for the whole burst (measured: 100%, against 70-90%
    // off it: the 30 requests and this test's own HTTP clients share the process). Then generous
    // latency bounds (the machine is shared): blocking argon2 took /health from 8 ms to 1.2 s.
    expect(elu).toBeLessThan(0.95);
    expect(healthMax).toBeLessThan(1000);
    expect(gapMax).toBeLessThan(200 + 1000);
  });
});

describe('a bounded hashing queue', () => {
  it('a flood of sign-ins from many addresses: past 64 waiting hashes the rest get 503 at once, not counted as guesses', async () => {
    const c = new Client(t.baseUrl);
    const token = await c.fetchCsrf();
    const n = 120;
    const answers = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        c.post(
          '/auth/login',
          { email: `flood-${i}@example.com`, password: 'wrong-password' },
          { csrf: token, headers: { 'x-forwarded-for': `198.51.100.${i + 1}` } },
        ),
      ),
    );
    expect(answers.filter((a) => a.status !== 401 && a.status !== 503)).toStrictEqual([]);
    const busy = answers.flatMap((a, i) => (a.status === 503 ? [i] : []));
    // One hashes and 64 wait; those answered while the first requests still arrive make room.
    expect(busy.length).toBeGreaterThan(0);
    expect(busy.length).toBeLessThanOrEqual(n - 65);
    expect(answers[busy[0]].headers.get('retry-after')).toBe('5');
    expect(answers[busy[0]].body.statusCode).toBe(503);
    // Refused unchecked: neither its email nor its address counts it.
    const keys = busy.flatMap((i) => [`email:flood-${i}@example.com`, `ip:198.51.100.${i + 1}`]);
    const { rows } = await t.db.query(`SELECT key FROM login_failures WHERE key = ANY ($1) AND failures > 0`, [keys]);
    expect(rows).toStrictEqual([]);
  });
});

describe('one email normal form (finding 3)', () => {
  it('İ (U+0130): after 5 failures for victim@, v\\u0130ctim@ with the right password does not sign in as the victim', async () => {
    const victim = new Client(t.baseUrl);
    const reg = await victim.register('victim@example.com', 'victim-password');
    expect(reg.status).toBe(201);
    const attacker = new Client(t.baseUrl);
    for (let i = 0; i < 5; i++) expect((await attacker.login('victim@example.com', 'wrong-password')).status).toBe(401);
    expect((await attacker.login('victim@example.com', 'victim-password')).status).toBe(429);
    const other = await new Client(t.baseUrl).login('v\u0130ctim@example.com', 'victim-password');
    expect(other.status).toBe(401);
    // Full-width and upper-case spellings are the victim's email: throttled, not a fresh count.
    expect((await new Client(t.baseUrl).login('ＶＩＣＴＩＭ@example.com', 'victim-password')).status).toBe(429);
  });

  it('İ (U+0130): registering v\\u0130ctim@ makes a separate account that no spelling of victim@ reaches', async () => {
    const victim = new Client(t.baseUrl);
    const v = await victim.signUp('victim2@example.com', 'victim-password');
    const twin = await new Client(t.baseUrl).register('v\u0130ctim2@example.com', 'attacker-password');
    expect(twin.status).toBe(201);
    expect(twin.body.email).toBe('v\u0130ctim2@example.com'.normalize('NFKC').toLowerCase());
    expect(twin.body.id).not.toBe(v.id);
    expect((await new Client(t.baseUrl).login('victim2@example.com', 'attacker-password')).status).toBe(401);
    expect((await new Client(t.baseUrl).login('VICTIM2@example.com', 'attacker-password')).status).toBe(401);
    const asTwin = await new Client(t.baseUrl).login('V\u0130CTIM2@EXAMPLE.COM', 'attacker-password');
    expect(asTwin.status).toBe(200);
    expect(asTwin.body.user.id).toBe(twin.body.id);
    // Spellings with the same normal form are one account: 409, whatever the case or width.
    expect((await new Client(t.baseUrl).register('ＶＩＣＴＩＭ2@example.com', 'password-123')).status).toBe(409);
    expect(await count(`SELECT count(*) FROM users WHERE email LIKE 'v%ctim2@example.com'`)).toBe(2);
  });

  it('stores the normal form (NFKC, then lower case)', async () => {
    const reg = await new Client(t.baseUrl).register('Ｍｉｘｅｄ.Case@Example.COM', 'password-123');
    expect(reg.status).toBe(201);
    expect(reg.body.email).toBe('mixed.case@example.com');
    expect(await count(`SELECT count(*) FROM users WHERE email = 'mixed.case@example.com'`)).toBe(1);
    expect((await new Client(t.baseUrl).login('MIXED.case@example.com', 'password-123')).status).toBe(200);
  });
});

describe('anonymous visitors leave no session row (finding 7)', () => {
  it('500 × GET /auth/csrf store no session', async () => {
    const before = await count(`SELECT count(*) FROM sessions`);
    for (let i = 0; i < 50; i++) {
      const answers = await Promise.all(Array.from({ length: 10 }, () => new Client(t.baseUrl).get('/auth/csrf')));
      for (const a of answers) expect(a.status).toBe(200);
    }
    expect(await count(`SELECT count(*) FROM sessions`)).toBe(before);
  });

  it('the pre-login token works for register and login; login rotates it', async () => {
    const c = new Client(t.baseUrl);
    const token = await c.fetchCsrf();
    expect(c.cookies.has('sid')).toBe(false);
    expect(c.cookies.has('csrf')).toBe(true);
    expect(await c.fetchCsrf()).toBe(token); // stable while the cookie lives
    expect((await c.register('pre@example.com', 'password-123')).status).toBe(201);
    const login = await c.post('/auth/login', { email: 'pre@example.com', password: 'password-123' });
    expect(login.status).toBe(200);
    expect(login.body.csrfToken).not.toBe(token);
    expect(c.cookies.has('sid')).toBe(true);
    expect(c.cookies.has('csrf')).toBe(false);
    // Signed in, the pre-login token is void; the session's own token works.
    expect((await c.post('/notifications/read-all', {}, { csrf: token })).status).toBe(403);
    expect((await c.post('/notifications/read-all', {}, { csrf: login.body.csrfToken })).status).not.toBe(403);
    expect((await c.get('/auth/csrf')).body.csrfToken).toBe(login.body.csrfToken);
  });

  it("another visitor's token, a forged one, or a token without its cookie: 403 and nothing written", async () => {
    const a = new Client(t.baseUrl);
    const b = new Client(t.baseUrl);
    const tokenA = await a.fetchCsrf();
    await b.fetchCsrf();
    const body = { email: 'cross@example.com', password: 'password-123' };
    expect((await b.post('/auth/register', body, { csrf: tokenA })).status).toBe(403);
    expect((await b.post('/auth/login', body, { csrf: tokenA })).status).toBe(403);
    expect((await new Client(t.baseUrl).post('/auth/register', body, { csrf: tokenA })).status).toBe(403);
    const forged = new Client(t.baseUrl);
    forged.cookies.set('csrf', 'A'.repeat(43));
    expect((await forged.post('/auth/register', body, { csrf: 'A'.repeat(43) })).status).toBe(403);
    // A signed-in session's token is not a pre-login token either.
    const s = new Client(t.baseUrl);
    await s.signUp('signed@example.com');
    expect((await b.post('/auth/register', body, { csrf: s.csrfToken! })).status).toBe(403);
    expect(await count(`SELECT count(*) FROM users WHERE email = 'cross@example.com'`)).toBe(0);
  });
});
