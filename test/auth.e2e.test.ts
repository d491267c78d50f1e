import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from './support/http.js';
import { startTestApp, type TestApp } from './support/app.js';

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(async () => {
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
    assert.equal(reg.status, 201);
    assert.deepEqual(Object.keys(reg.body).sort(), ['displayName', 'email', 'id', 'role']);
    assert.equal(reg.body.role, 'user');
    assert.equal(reg.body.displayName, 'Alice');

    const login = await c.login('alice@example.com', 'password-123');
    assert.equal(login.status, 200);
    assert.equal(login.body.user.email, 'alice@example.com');
    assert.equal(typeof login.body.csrfToken, 'string');

    const me = await c.get('/auth/me');
    assert.equal(me.status, 200);
    assert.equal(me.body.id, reg.body.id);

    const out = await c.post('/auth/logout');
    assert.equal(out.status, 204);
    const after = await c.get('/auth/me');
    assert.equal(after.status, 401);
    assert.deepEqual(after.body, { statusCode: 401, message: 'Authentication required' });
  });

  it('wrong password and unknown email give the same 401', async () => {
    const c = new Client(t.baseUrl);
    await c.register('bob@example.com', 'password-123');
    const wrong = await c.login('bob@example.com', 'not-the-password');
    const unknown = await c.login('nobody@example.com', 'password-123');
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    assert.deepEqual(wrong.body, unknown.body);
    assert.equal(wrong.body.message, 'Invalid email or password');
  });

  it('login rotates the session id and the old cookie no longer authenticates', async () => {
    const c = new Client(t.baseUrl);
    await c.register('carol@example.com', 'password-123');
    await c.fetchCsrf();
    const before = c.cookies.get('sid');
    assert.ok(before, 'GET /auth/csrf creates a session');
    await c.login('carol@example.com', 'password-123');
    const after = c.cookies.get('sid');
    assert.ok(after);
    assert.notEqual(after, before);
    const old = new Client(t.baseUrl);
    old.cookies.set('sid', before!);
    assert.equal((await old.get('/auth/me')).status, 401);
    const current = new Client(t.baseUrl);
    current.cookies.set('sid', after!);
    assert.equal((await current.get('/auth/me')).status, 200);
  });

  it('sets the session cookie HttpOnly, SameSite=Lax, Path=/ (not Secure outside production)', async () => {
    const c = new Client(t.baseUrl);
    await c.register('dave@example.com', 'password-123');
    await c.login('dave@example.com', 'password-123');
    const cookie = c.lastSetCookie.find((s) => s.startsWith('sid='));
    assert.ok(cookie, 'login sets sid');
    assert.match(cookie!, /HttpOnly/i);
    assert.match(cookie!, /SameSite=Lax/i);
    assert.match(cookie!, /Path=\//);
    assert.doesNotMatch(cookie!, /Secure/i);
  });

  it('a logged-out session cookie cannot be replayed', async () => {
    const c = new Client(t.baseUrl);
    await c.signUp('erin@example.com');
    const sid = c.cookies.get('sid')!;
    assert.equal((await c.post('/auth/logout')).status, 204);
    const replay = new Client(t.baseUrl);
    replay.cookies.set('sid', sid);
    assert.equal((await replay.get('/auth/me')).status, 401);
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
      assert.equal(none.status, 403, `${method} ${path} without token`);
      assert.deepEqual(none.body, { statusCode: 403, message: 'Missing or invalid CSRF token' });
      const wrong = await c.request(method, path, body, { csrf: 'x'.repeat(43) });
      assert.equal(wrong.status, 403, `${method} ${path} with a wrong token`);
    }
    assert.equal(await userCount('x1@example.com'), 0);
    assert.equal((await c.get('/auth/me')).status, 200, 'still signed in');
  });

  it("one session's token does not work for another session", async () => {
    const a = new Client(t.baseUrl);
    await a.signUp('gina@example.com');
    const b = new Client(t.baseUrl);
    await b.signUp('hank@example.com');
    const res = await b.request('POST', '/auth/logout', undefined, { csrf: a.csrfToken! });
    assert.equal(res.status, 403);
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
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.statusCode, 400);
      assert.equal(typeof res.body.message, 'string');
    }
    const malformed = await c.post('/auth/register', undefined, { raw: '{"email": "ok@example.com",' });
    assert.equal(malformed.status, 400);
    assert.deepEqual(malformed.body, { statusCode: 400, message: 'Malformed JSON body' });
    assert.equal(await userCount(), before);
  });

  it('a body over 64 KB is 413 and writes nothing', async () => {
    const c = new Client(t.baseUrl);
    const before = await userCount();
    const res = await c.post('/auth/register', {
      email: 'big@example.com',
      password: 'password-123',
      displayName: 'x'.repeat(70_000),
    });
    assert.equal(res.status, 413);
    assert.equal(res.body.statusCode, 413);
    assert.equal(await userCount(), before);
  });

  it('a duplicate email is 409 whatever its case', async () => {
    const c = new Client(t.baseUrl);
    assert.equal((await c.register('Ivy@Example.com')).status, 201);
    const dup = await c.register('ivy@example.COM');
    assert.equal(dup.status, 409);
    assert.equal(dup.body.message, 'Email is already registered');
    assert.equal(await userCount('ivy@example.com'), 1);
  });

  it('stores an argon2id hash, never the password', async () => {
    const c = new Client(t.baseUrl);
    await c.register('jack@example.com', 'password-123');
    const { rows } = await t.db.query(`SELECT password_hash FROM users WHERE email = 'jack@example.com'`);
    assert.match(rows[0].password_hash, /^\$argon2id\$/);
  });
});

describe('roles and throttling', () => {
  it('an admin-only route answers 403 to a user, and works for the bootstrap admin', async () => {
    const user = new Client(t.baseUrl);
    await user.signUp('kate@example.com');
    const denied = await user.get('/admin/stats');
    assert.equal(denied.status, 403);
    assert.deepEqual(denied.body, { statusCode: 403, message: 'Admin role required' });
    const admin = new Client(t.baseUrl);
    assert.equal((await admin.login(t.adminEmail, t.adminPassword)).status, 200);
    assert.equal((await admin.get('/admin/stats')).status, 200);
  });

  it('repeated failures for an email are throttled with 429, even with the right password', async () => {
    const c = new Client(t.baseUrl);
    await c.register('liam@example.com', 'password-123');
    for (let i = 0; i < 5; i++) assert.equal((await c.login('liam@example.com', 'wrong-password')).status, 401);
    const blocked = await c.login('liam@example.com', 'password-123');
    assert.equal(blocked.status, 429);
    assert.equal(blocked.body.statusCode, 429);
    // Other accounts are unaffected.
    await c.register('mia@example.com', 'password-123');
    assert.equal((await new Client(t.baseUrl).login('mia@example.com', 'password-123')).status, 200);
  });

  it('health answers ok with the database up', async () => {
    const res = await new Client(t.baseUrl).get('/health');
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'ok');
  });

  it('unknown routes are JSON 404', async () => {
    const res = await new Client(t.baseUrl).get('/no-such-route');
    assert.equal(res.status, 404);
    assert.equal(res.body.statusCode, 404);
  });
});
