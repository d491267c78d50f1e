import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client } from './support/http.js';
import { adminClient } from './support/shop.js';
import { startTestApp, type TestApp } from './support/app.js';

let t: TestApp;
beforeAll(async () => {
  // Loopback is a trusted proxy, so that a test can speak for other addresses (X-Forwarded-For).
  t = await startTestApp({ TRUST_PROXY: '127.0.0.1' });
});
afterAll(async () => {
  await t.close();
});

const userCount = async (email?: string) =>
  Number(
    (
      await t.db.query(
        `SELECT count(*) FROM users ${email ? 'WHERE lower(email) = lower($1)' : ''}`,
        email ? [email] : [],
      )
    ).rows[0].count,
  );

describe('sign-up, sign-in, sign-out', () => {
  it('register → login → me → logout → me 401', async () => {
    const c = new Client(t.baseUrl);
    const reg = await c.register('alice@example.com', 'password-123', 'Alice');
    expect(reg.status).toBe(201);
    expect(Object.keys(reg.body).sort()).toStrictEqual(['displayName', 'email', 'id', 'role']);
    expect(reg.body.role).toBe('user');
    expect(reg.body.displayName).toBe('Alice');

    const login = await c.login('alice@example.com', 'password-123');
    expect(login.status).toBe(200);
    expect(login.body.user.email).toBe('alice@example.com');
    expect(typeof login.body.csrfToken).toBe('string');

    const me = await c.get('/auth/me');
    expect(me.status).toBe(200);
    expect(me.body.id).toBe(reg.body.id);

    const out = await c.post('/auth/logout');
    expect(out.status).toBe(204);
    const after = await c.get('/auth/me');
    expect(after.status).toBe(401);
    expect(after.body).toStrictEqual({ statusCode: 401, message: 'Authentication required' });
  });

  it('wrong password and unknown email give the same 401', async () => {
    const c = new Client(t.baseUrl);
    await c.register('bob@example.com', 'password-123');
    const wrong = await c.login('bob@example.com', 'not-the-password');
    const unknown = await c.login('nobody@example.com', 'password-123');
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body).toStrictEqual(unknown.body);
    expect(wrong.body.message).toBe('Invalid email or password');
  });

  it('login rotates the session id and the old cookie no longer authenticates', async () => {
    const c = new Client(t.baseUrl);
    await c.register('carol@example.com', 'password-123');
    await c.fetchCsrf();
    expect(c.cookies.get('sid')).toBeUndefined(); // before sign-in no session exists (issue 13)
    await c.login('carol@example.com', 'password-123');
    const before = c.cookies.get('sid');
    expect(before).toBeTruthy();
    // Signing in again over an existing session (a fixed one) gives a new id.
    await c.login('carol@example.com', 'password-123');
    const after = c.cookies.get('sid');
    expect(after).toBeTruthy();
    expect(after).not.toBe(before);
    const old = new Client(t.baseUrl);
    old.cookies.set('sid', before!);
    expect((await old.get('/auth/me')).status).toBe(401);
    const current = new Client(t.baseUrl);
    current.cookies.set('sid', after!);
    expect((await current.get('/auth/me')).status).toBe(200);
  });

  it('sets the session cookie HttpOnly, SameSite=Lax, Path=/ (not Secure outside production)', async () => {
    const c = new Client(t.baseUrl);
    await c.register('dave@example.com', 'password-123');
    await c.login('dave@example.com', 'password-123');
    const cookie = c.lastSetCookie.find((s) => s.startsWith('sid='));
    expect(cookie).toBeTruthy(); // login sets sid
    expect(cookie!).toMatch(/HttpOnly/i);
    expect(cookie!).toMatch(/SameSite=Lax/i);
    expect(cookie!).toMatch(/Path=\//);
    expect(cookie!).not.toMatch(/Secure/i);
  });

  it('a logged-out session cookie cannot be replayed', async () => {
    const c = new Client(t.baseUrl);
    await c.signUp('erin@example.com');
    const sid = c.cookies.get('sid')!;
    expect((await c.post('/auth/logout')).status).toBe(204);
    const replay = new Client(t.baseUrl);
    replay.cookies.set('sid', sid);
    expect((await replay.get('/auth/me')).status).toBe(401);
  });
});

describe('CSRF', () => {
  it('every state-changing route answers 403 without a token, and with a wrong one', async () => {
    const c = new Client(t.baseUrl);
    await c.signUp('frank@example.com');
    const routes: Array<[string, string, unknown]> = [
      ['POST', '/auth/register', { email: 'x1@example.com', password: 'password-123' }],
      ['POST', '/auth/login', { email: 'frank@example.com', password: 'password-123' }],
      ['POST', '/auth/logout', undefined],
      ['POST', '/notifications/read-all', {}],
      ['POST', '/notifications/1/read', undefined],
      ['PUT', '/preferences', { channels: { order: false } }],
    ];
    for (const [method, path, body] of routes) {
      const none = await c.request(method, path, body, { csrf: false });
      expect(none.status).toBe(403); // `${method} ${path} without token`
      expect(none.body).toStrictEqual({ statusCode: 403, message: 'Missing or invalid CSRF token' });
      const wrong = await c.request(method, path, body, { csrf: 'x'.repeat(43) });
      expect(wrong.status).toBe(403); // `${method} ${path} with a wrong token`
    }
    expect(await userCount('x1@example.com')).toBe(0);
    expect((await c.get('/auth/me')).status).toBe(200); // still signed in
  });

  it("one session's token does not work for another session", async () => {
    const a = new Client(t.baseUrl);
    await a.signUp('gina@example.com');
    const b = new Client(t.baseUrl);
    await b.signUp('hank@example.com');
    const res = await b.request('POST', '/auth/logout', undefined, { csrf: a.csrfToken! });
    expect(res.status).toBe(403);
  });
});

describe('registration validation', () => {
  it('bad email, short password, unknown fields, wrong types and malformed JSON: 400, no row', async () => {
    const c = new Client(t.baseUrl);
    const before = await userCount();
    const cases: unknown[] = [
      { email: 'not-an-email', password: 'password-123' },
      { email: 'ok@example.com', password: 'short' },
      { email: 'ok@example.com', password: 'password-123', role: 'admin' },
      { email: 'ok@example.com', password: 12345678 },
      { email: 'ok@example.com' },
      { email: 'ok@example.com', password: 'password-123', displayName: '' },
      { email: 'ok@example.com', password: 'password-123', displayName: 'x'.repeat(101) },
      { email: 'ok@example.com', password: 'password-123', displayName: 'nul\u0000byte' },
      [],
    ];
    for (const body of cases) {
      const res = await c.post('/auth/register', body);
      expect(res.status).toBe(400); // JSON.stringify(body)
      expect(res.body.statusCode).toBe(400);
      expect(typeof res.body.message).toBe('string');
    }
    const malformed = await c.post('/auth/register', undefined, { raw: '{"email": "ok@example.com",' });
    expect(malformed.status).toBe(400);
    expect(malformed.body).toStrictEqual({ statusCode: 400, message: 'Malformed JSON body' });
    expect(await userCount()).toBe(before);
  });

  it('a body over 64 KB is 413 and writes nothing', async () => {
    const c = new Client(t.baseUrl);
    const before = await userCount();
    const res = await c.post('/auth/register', {
      email: 'big@example.com',
      password: 'password-123',
      displayName: 'x'.repeat(70_000),
    });
    expect(res.status).toBe(413);
    expect(res.body.statusCode).toBe(413);
    expect(await userCount()).toBe(before);
  });

  it('a duplicate email is 409 whatever its case', async () => {
    const c = new Client(t.baseUrl);
    expect((await c.register('Ivy@Example.com')).status).toBe(201);
    const dup = await c.register('ivy@example.COM');
    expect(dup.status).toBe(409);
    expect(dup.body.message).toBe('Email is already registered');
    expect(await userCount('ivy@example.com')).toBe(1);
  });

  it('stores an argon2id hash, never the password', async () => {
    const c = new Client(t.baseUrl);
    await c.register('jack@example.com', 'password-123');
    const { rows } = await t.db.query(`SELECT password_hash FROM users WHERE email = 'jack@example.com'`);
    expect(rows[0].password_hash).toMatch(/^\$argon2id\$/);
  });
});

describe('roles and throttling', () => {
  it('an admin-only route answers 403 to a user, and works for the bootstrap admin', async () => {
    const user = new Client(t.baseUrl);
    await user.signUp('kate@example.com');
    const denied = await user.get('/admin/stats');
    expect(denied.status).toBe(403);
    expect(denied.body).toStrictEqual({ statusCode: 403, message: 'Admin role required' });
    const admin = await adminClient(t);
    expect((await admin.get('/admin/stats')).status).toBe(200);
  });

  it('repeated failures for an email are throttled with 429, even with the right password', async () => {
    const c = new Client(t.baseUrl);
    await c.register('liam@example.com', 'password-123');
    for (let i = 0; i < 5; i++) expect((await c.login('liam@example.com', 'wrong-password')).status).toBe(401);
    const blocked = await c.login('liam@example.com', 'password-123');
    expect(blocked.status).toBe(429);
    expect(blocked.body.statusCode).toBe(429);
    // Other accounts are unaffected.
    await c.register('mia@example.com', 'password-123');
    expect((await new Client(t.baseUrl).login('mia@example.com', 'password-123')).status).toBe(200);
  });

  it('a burst of concurrent sign-ins cannot outrun the throttle: 5 guesses per email, 30 per address', async () => {
    const c = new Client(t.baseUrl);
    await c.register('nora@example.com', 'password-123');
    const token = await c.fetchCsrf();
    // From addresses of its own (X-Forwarded-For), so other tests' failures do not count.
    const attempt = (email: string, from: string, password = 'wrong-password') =>
      c
        .post('/auth/login', { email, password }, { csrf: token, headers: { 'x-forwarded-for': from } })
        .then((r) => r.status);
    // All at once: each is counted before its password is checked, not after.
    const burst = await Promise.all(Array.from({ length: 20 }, () => attempt('nora@example.com', '203.0.113.1')));
    expect(burst.filter((s) => s === 401).length).toBe(5);
    expect(burst.filter((s) => s === 429).length).toBe(15);
    expect(await attempt('nora@example.com', '203.0.113.9', 'password-123')).toBe(429);
    // One address spraying many emails at once.
    const spray = await Promise.all(
      Array.from({ length: 40 }, (_, i) => attempt(`spray-${i}@example.com`, '203.0.113.2')),
    );
    expect(spray.filter((s) => s === 401).length).toBe(30);
    expect(spray.filter((s) => s === 429).length).toBe(10);
  });

  it('health answers ok with the database up', async () => {
    const res = await new Client(t.baseUrl).get('/health');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('ok');
  });

  it('unknown routes are JSON 404', async () => {
    const res = await new Client(t.baseUrl).get('/no-such-route');
    expect(res.status).toBe(404);
    expect(res.body.statusCode).toBe(404);
  });
});
