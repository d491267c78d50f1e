import type { INestApplication } from '@nestjs/common';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createApp } from '../src/app.factory.js';
import { API_PATH_PREFIX, ORIGIN_CHECK_EXEMPT } from '../src/common/origin-check.js';
import { loadConfig } from '../src/config/env.js';
import { INBOX_PAGE_CSP } from '../src/web/inbox-page.js';
import { freshDatabase, startTestApp, type TestApp, sharedTestApp } from './support/app.js';
import { Client } from './support/http.js';
import { adminClient } from './support/shop.js';
import { openStream } from './support/sse.js';

/**
 * Issue 13, the HTTP half, over real HTTP: exact routing, hardened JSON
 * bodies, the origin check and the security headers.
 */

let t: TestApp;
let user: Client;
let admin: Client;
beforeAll(async () => {
  t = await startTestApp();
  user = new Client(t.baseUrl);
  await user.signUp('hardening@example.com');
  admin = await adminClient(t);
});
afterAll(async () => {
  await t.close();
});

const count = async (sql: string): Promise<number> => Number((await t.db.query(sql)).rows[0].n);
const ITEMS = [{ sku: 'SKU-1', quantity: 1, unitPrice: 500 }];

describe('keep-alive connections', () => {
  it('an idle kept-alive connection is not closed before a balancer gives it up (Node closes at 5 s, nginx reuses for 60 s)', async () => {
    const server = t.app.getHttpServer() as Server;
    expect(server.keepAliveTimeout).toBeGreaterThan(60_000);
    expect(server.headersTimeout).toBeGreaterThan(server.keepAliveTimeout);
    // For real: one connection, two requests 6 s apart, as nginx's upstream keepalive would send them.
    const { port } = new URL(t.baseUrl);
    const socket = connect(Number(port), '127.0.0.1');
    let closed = false;
    const ended = new Promise<void>((resolve) => socket.once('close', () => resolve(void (closed = true))));
    socket.setEncoding('utf8');
    /** One request on the connection, and its whole answer (`/health`'s JSON body ends with `}`). */
    const answer = (): Promise<string> =>
      new Promise((resolve, reject) => {
        let received = '';
        const onData = (d: string) => {
          received += d;
          if (!/\r\n\r\n[\s\S]*\}$/.test(received)) return;
          socket.off('data', onData).off('close', onClose);
          resolve(received);
        };
        const onClose = () => reject(new Error(`connection closed; received ${JSON.stringify(received)}`));
        socket.on('data', onData).once('close', onClose);
        socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      });
    try {
      expect(await answer()).toMatch(/^HTTP\/1\.1 200 /);
      await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, 6000))]);
      expect(closed).toBe(false);
      expect(await answer()).toMatch(/^HTTP\/1\.1 200 /);
    } finally {
      socket.destroy();
    }
  });
});

describe('exact routing', () => {
  it('answers only the exact, case-sensitive spelling of each path', async () => {
    const get = async (path: string) => {
      const res = await fetch(`${t.baseUrl}${path}`, { headers: { cookie: admin.cookieHeader } });
      await res.arrayBuffer();
      return res.status;
    };
    // The real spellings answer…
    expect(await get('/metrics')).toBe(200);
    expect(await get('/health')).toBe(200);
    expect(await get('/auth/me')).toBe(200);
    expect(await get('/docs')).toBe(200);
    expect(await get('/assets/inbox.css')).toBe(200);
    // …and no other.
    const others = [
      '/METRICS',
      '/Metrics',
      '/metrics/',
      '/metrics//',
      '/%6Detrics',
      '/%6detrics',
      '/Health',
      '/health/',
      '/Auth/me',
      '/auth/me/',
      '/Docs',
      '/DOCS-JSON',
      '/Assets/inbox.css',
      '/assets/INBOX.css',
      '/Notifications/Stream',
      '/notifications/stream/',
      '/NOTIFICATIONS/STREAM',
      '/Notifications',
      '/notifications/',
    ];
    const statuses = await Promise.all(others.map(async (p) => [p, await get(p)]));
    expect(statuses).toStrictEqual(others.map((p) => [p, 404]));
  });

  it('does not route state-changing requests by another spelling either', async () => {
    const res = await user.post('/Orders', { items: ITEMS });
    expect(res.status).toBe(404);
    expect((await user.post('/orders/', { items: ITEMS })).status).toBe(404);
    expect(await count('SELECT count(*) AS n FROM orders')).toBe(0);
  });
});

describe('JSON bodies: depth and forbidden keys', () => {
  const nested = (levels: number, inner = '') => '['.repeat(levels) + inner + ']'.repeat(levels);

  it('refuses 3,000 nested arrays on register, login and POST /orders with a 400 and stores nothing', async () => {
    const users = await count('SELECT count(*) AS n FROM users');
    const deep = nested(3000);
    const bodies: Array<[string, string]> = [
      ['/auth/register', `{"email":"deep@example.com","password":"password-123","displayName":${deep}}`],
      ['/auth/login', `{"email":"hardening@example.com","password":${deep}}`],
      ['/orders', `{"items":${deep}}`],
      ['/orders', deep],
    ];
    for (const [path, raw] of bodies) {
      const res = await user.post(path, undefined, { raw });
      expect([path, res.status, res.body]).toStrictEqual([
        path,
        400,
        { statusCode: 400, message: 'JSON body is nested deeper than 64 levels' },
      ]);
    }
    expect(await count('SELECT count(*) AS n FROM users')).toBe(users);
    expect(await count('SELECT count(*) AS n FROM orders')).toBe(0);
    // The session survived: the failed login neither signed the user out nor in as anyone else.
    expect((await user.get('/auth/me')).body.email).toBe('hardening@example.com');
  });

  it('counts depth exactly: 64 levels reach validation, 65 do not; brackets inside strings do not count', async () => {
    const at64 = await user.post('/orders', undefined, { raw: `{"items":${nested(63, '1')}}` });
    expect(at64.status).toBe(400);
    expect(at64.body.message).not.toMatch(/nested deeper/); // validation's answer, not the depth limit's
    const at65 = await user.post('/orders', undefined, { raw: `{"items":${nested(64, '1')}}` });
    expect(at65.body).toStrictEqual({ statusCode: 400, message: 'JSON body is nested deeper than 64 levels' });
    const inString = await user.post('/orders', {
      items: [{ sku: `${'['.repeat(50)}\\"${'{'.repeat(40)}`, quantity: 1, unitPrice: 1 }],
    });
    expect(inString.status).toBe(201);
  });

  it('refuses __proto__, constructor and prototype keys at the top and nested, escaped spellings too', async () => {
    const orders = await count('SELECT count(*) AS n FROM orders');
    const items = JSON.stringify(ITEMS);
    const cases: Array<[string, string]> = [];
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      cases.push([key, `{"items":${items},"${key}":{"x":1}}`]);
      cases.push([key, `{"items":[{"sku":"SKU-1","quantity":1,"unitPrice":500,"${key}":{"x":1}}]}`]);
      cases.push([key, `{"items":[{"sku":"SKU-1","quantity":1,"unitPrice":500,"meta":[{"${key}":null}]}]}`]);
    }
    cases.push(['__proto__', `{"items":${items},"\\u005f_proto__":{"isAdmin":true}}`]);
    for (const [key, raw] of cases) {
      const res = await user.post('/orders', undefined, { raw });
      expect([raw, res.status, res.body]).toStrictEqual([
        raw,
        400,
        { statusCode: 400, message: `The key "${key}" is not allowed in a JSON body` },
      ]);
    }
    const login = await new Client(t.baseUrl).post('/auth/login', undefined, {
      raw: '{"email":"hardening@example.com","password":"password-123","constructor":{"name":"x"}}',
    });
    expect(login.status).toBe(400);
    expect(await count('SELECT count(*) AS n FROM orders')).toBe(orders);
  });

  it('refuses a lone surrogate (not Unicode) in any text with a 400, where the validators would throw, and stores nothing', async () => {
    const users = await count('SELECT count(*) AS n FROM users');
    const orders = await count('SELECT count(*) AS n FROM orders');
    const refusal = { statusCode: 400, message: 'Text must be well-formed Unicode (a lone surrogate is not)' };
    const anonymous = new Client(t.baseUrl);
    for (const [client, path, raw] of [
      [anonymous, '/auth/register', '{"email":"\\ud800","password":"password-123","displayName":"x"}'],
      [anonymous, '/auth/register', '{"email":"a\\udc00@example.com","password":"password-123"}'],
      [anonymous, '/auth/login', '{"email":"\\ud800@example.com","password":"password-123"}'],
      [user, '/orders', '{"items":[{"sku":"SKU-\\ud800","quantity":1,"unitPrice":500}]}'],
    ] as const) {
      const res = await client.post(path, undefined, { raw });
      expect([path, raw, res.status, res.body]).toStrictEqual([path, raw, 400, refusal]);
    }
    expect(await count('SELECT count(*) AS n FROM users')).toBe(users);
    expect(await count('SELECT count(*) AS n FROM orders')).toBe(orders);
  });
  it('refuses control characters in an email address, which mail software drops ("a\\u0001"@x is sent to a@x)', async () => {
    const users = await count('SELECT count(*) AS n FROM users');
    const anonymous = new Client(t.baseUrl);
    for (const email of ['"a\u0001"@example.com', '"b\u007f"@example.com', '"c\u0085"@example.com']) {
      const res = await anonymous.post('/auth/register', { email, password: 'password-123' });
      expect([email, res.status, res.body.message]).toStrictEqual([email, 400, 'email must be a valid email address']);
    }
    expect(await count('SELECT count(*) AS n FROM users')).toBe(users);
  });
});

/** Every state-changing route the app serves, from Express's router (so routes added later are covered too). */
function unsafeRoutes(): Array<{ method: string; path: string }> {
  const express = t.app.getHttpAdapter().getInstance();
  const routes: Array<{ method: string; path: string }> = [];
  for (const layer of express.router.stack as Array<{
    route?: { path: string | string[]; methods: Record<string, boolean> };
  }>) {
    if (!layer.route) continue;
    for (const path of [layer.route.path].flat()) {
      for (const [method, on] of Object.entries(layer.route.methods)) {
        const m = method.toUpperCase();
        if (on && ['POST', 'PUT', 'PATCH', 'DELETE'].includes(m)) routes.push({ method: m, path });
      }
    }
  }
  // /v1 takes an API key only, which no browser sends by itself (api-publish.e2e tests it with a foreign Origin).
  return routes.filter(
    (r) =>
      !ORIGIN_CHECK_EXEMPT.some((e) => e.method === r.method && e.path === r.path) &&
      !r.path.startsWith(API_PATH_PREFIX),
  );
}

describe('bodies that are not JSON', () => {
  it('are 400 (over 64 KB: 413), never read as an empty body: a read-all of one channel does not read them all', async () => {
    const c = new Client(t.baseUrl);
    await c.signUp('not-json@example.com');
    await c.post('/orders', { items: ITEMS });
    const unread = async () => (await c.get('/notifications/unread-count')).body.total;
    expect(await unread()).toBe(1);
    const json = JSON.stringify({ channel: 'payment' });
    // fetch's own type for a string body, a form, and a JSON type the API does not speak.
    for (const type of [
      'text/plain;charset=UTF-8',
      'application/x-www-form-urlencoded',
      'application/merge-patch+json',
    ]) {
      const res = await c.post('/notifications/read-all', undefined, { raw: json, headers: { 'content-type': type } });
      expect([type, res.status, res.body]).toStrictEqual([
        type,
        400,
        { statusCode: 400, message: 'The body must be JSON (Content-Type: application/json)' },
      ]);
    }
    const locale = await c.put('/preferences', undefined, {
      raw: '{"locale":"de"}',
      headers: { 'content-type': 'text/plain' },
    });
    expect(locale.status).toBe(400);
    const big = await c.put('/preferences', undefined, {
      raw: JSON.stringify({ locale: 'de', pad: 'x'.repeat(70_000) }),
      headers: { 'content-type': 'text/plain' },
    });
    expect(big.body).toStrictEqual({ statusCode: 413, message: 'Request body is larger than 65536 bytes' });
    // Who sends it is judged first, as for a JSON body: a form posted without the token is a CSRF refusal.
    const form = { raw: 'channel=payment', headers: { 'content-type': 'application/x-www-form-urlencoded' } };
    expect((await c.post('/notifications/read-all', undefined, { ...form, csrf: false })).status).toBe(403);
    expect((await new Client(t.baseUrl).post('/notifications/read-all', undefined, form)).status).toBe(401);
    expect(await unread()).toBe(1);
    expect((await c.get('/preferences')).body.locale).toBe('en');
    // No body at all is still no body (the routes whose fields are all optional).
    expect((await c.post('/notifications/read-all')).status).toBe(204);
    expect(await unread()).toBe(0);
  });
});

describe('origins', () => {
  const REFUSED = /^Cross-origin request refused/;

  it('refuses every state-changing route from a foreign Origin or a same-site/cross-site fetch, with 403 JSON', async () => {
    const routes = unsafeRoutes();
    expect(routes.map((r) => `${r.method} ${r.path}`)).toEqual(
      expect.arrayContaining(['POST /auth/login', 'POST /auth/register', 'POST /orders', 'PUT /preferences']),
    );
    const hostile: Array<Record<string, string>> = [
      { origin: 'http://127.0.0.1:1' }, // a sibling port
      { origin: 'http://evil.example' },
      { origin: 'null' },
      { 'sec-fetch-site': 'same-site' },
      { 'sec-fetch-site': 'cross-site' },
      { origin: t.baseUrl, 'sec-fetch-site': 'same-site' },
    ];
    for (const { method, path } of routes) {
      const concrete = path.replace(/:(\w+)/g, '1');
      for (const headers of hostile) {
        const res = await admin.request(method, concrete, {}, { headers });
        expect([method, concrete, headers, res.status, res.body.statusCode]).toStrictEqual([
          method,
          concrete,
          headers,
          403,
          403,
        ]);
        expect(res.body.message).toMatch(REFUSED);
      }
    }
  });

  it('lets the service’s own origin through (same-origin fetches and clients that send no Origin)', async () => {
    const own = { origin: t.baseUrl, 'sec-fetch-site': 'same-origin' };
    const placed = await user.post('/orders', { items: ITEMS }, { headers: own });
    expect(placed.status).toBe(201);
    expect((await user.post('/orders', { items: ITEMS }, { headers: { 'sec-fetch-site': 'none' } })).status).toBe(201);
    expect((await user.post('/orders', { items: ITEMS })).status).toBe(201); // curl-like: neither header
    // Host and Origin are compared as origins: a default port or capitals do not matter.
    const fresh = new Client(t.baseUrl);
    const reg = await fresh.register('own-origin@example.com', 'password-123');
    expect(reg.status).toBe(201);
  });

  it('changes nothing when it refuses: no user registered, no session signed in, no order placed', async () => {
    const users = await count('SELECT count(*) AS n FROM users');
    const orders = await count('SELECT count(*) AS n FROM orders');
    const sibling = { origin: 'http://127.0.0.1:1' };
    const visitor = new Client(t.baseUrl);
    expect((await visitor.register('sibling@example.com', 'password-123')).status).toBe(201);
    const reg = await visitor.post(
      '/auth/register',
      { email: 'sibling2@example.com', password: 'password-123' },
      { headers: sibling },
    );
    expect(reg.status).toBe(403);
    const login = await visitor.post(
      '/auth/login',
      { email: 'sibling@example.com', password: 'password-123' },
      { headers: sibling },
    );
    expect(login.status).toBe(403);
    expect((await visitor.get('/auth/me')).status).toBe(401);
    expect((await user.post('/orders', { items: ITEMS }, { headers: sibling })).status).toBe(403);
    expect(await count('SELECT count(*) AS n FROM users')).toBe(users + 1);
    expect(await count('SELECT count(*) AS n FROM orders')).toBe(orders);
  });

  it('refuses to open a stream for a foreign Origin or a same-site fetch, and opens it for its own', async () => {
    const hostile: Array<Record<string, string>> = [
      { origin: 'http://127.0.0.1:1' },
      { origin: 'http://localhost:' + t.port },
      { 'sec-fetch-site': 'same-site' },
      { 'sec-fetch-site': 'cross-site', origin: t.baseUrl },
    ];
    for (const headers of hostile) {
      const s = await openStream(t.baseUrl, user.cookieHeader, { headers });
      await s.waitForEnd(10_000);
      expect([headers, s.status, JSON.parse(s.raw.slice(s.raw.indexOf('{'))).statusCode]).toStrictEqual([
        headers,
        403,
        403,
      ]);
    }
    const ok = await openStream(t.baseUrl, user.cookieHeader, {
      headers: { origin: t.baseUrl, 'sec-fetch-site': 'same-origin' },
    });
    expect(ok.status).toBe(200);
    await ok.waitForEvent('ready');
    ok.close();
  });
});

describe('PUBLIC_ORIGIN', () => {
  const p = sharedTestApp({ PUBLIC_ORIGIN: 'https://notify.example.com, http://127.0.0.1:1/' });

  it('accepts exactly the configured origins', async () => {
    const c = new Client(p.baseUrl);
    const as = (origin: string) =>
      c.post(
        '/auth/register',
        { email: `u${Math.random()}@example.com`, password: 'password-123' },
        {
          headers: { origin },
        },
      );
    expect((await as('https://notify.example.com')).status).toBe(201);
    expect((await as('HTTPS://NOTIFY.example.com:443')).status).toBe(201);
    expect((await as('http://127.0.0.1:1')).status).toBe(201);
    expect((await as('http://notify.example.com')).status).toBe(403);
    expect((await as('https://evil.notify.example.com')).status).toBe(403);
    // The request's own host is not enough once the public origins are named.
    expect((await as(p.baseUrl)).status).toBe(403);
  });

  it('is validated at start: http(s) origins with no path, one line naming the variable', () => {
    for (const bad of [
      'notify.example.com',
      'ftp://x.example',
      'https://x.example/app',
      'https://x.example?a=1',
      ',',
    ]) {
      expect(() => loadConfig({ NODE_ENV: 'test', SESSION_SECRET: 'x'.repeat(32), PUBLIC_ORIGIN: bad })).toThrow(
        /^PUBLIC_ORIGIN /,
      );
    }
    expect(
      loadConfig({ NODE_ENV: 'test', SESSION_SECRET: 'x'.repeat(32), PUBLIC_ORIGIN: 'https://A.example:443/' })
        .publicOrigins,
    ).toStrictEqual(['https://a.example']);
  });
});

describe('security headers on every answer', () => {
  const expectHardened = (what: string, headers: Headers | Record<string, unknown>) => {
    const get = (name: string) =>
      headers instanceof Headers ? headers.get(name) : ((headers[name] as string | undefined) ?? null);
    const framing =
      get('x-frame-options') === 'DENY' || /frame-ancestors 'none'/.test(get('content-security-policy') ?? '');
    expect([what, get('x-content-type-options'), framing, get('referrer-policy') !== null]).toStrictEqual([
      what,
      'nosniff',
      true,
      true,
    ]);
  };

  it('on /health, /docs, /docs-json, API errors, 404s, refusals, the page, an asset and the stream', async () => {
    const answers: Array<[string, Promise<Response>]> = [
      ['/health', fetch(`${t.baseUrl}/health`)],
      ['/docs', fetch(`${t.baseUrl}/docs`)],
      ['/docs-json', fetch(`${t.baseUrl}/docs-json`)],
      ['401', fetch(`${t.baseUrl}/auth/me`)],
      ['404', fetch(`${t.baseUrl}/nothing-here`)],
      [
        '400',
        fetch(`${t.baseUrl}/auth/login`, {
          method: 'POST',
          body: '{',
          headers: { 'content-type': 'application/json' },
        }),
      ],
      ['403 origin', fetch(`${t.baseUrl}/orders`, { method: 'POST', headers: { origin: 'http://evil.example' } })],
      ['page', fetch(`${t.baseUrl}/`)],
      ['asset', fetch(`${t.baseUrl}/assets/inbox.css`)],
      ['client', fetch(`${t.baseUrl}/client/index.js`)],
    ];
    for (const [what, pending] of answers) {
      const res = await pending;
      await res.arrayBuffer();
      expect([what, res.status < 500]).toStrictEqual([what, true]);
      expectHardened(what, res.headers);
    }
    const page = await fetch(`${t.baseUrl}/`);
    await page.arrayBuffer();
    expect(page.headers.get('content-security-policy')).toBe(INBOX_PAGE_CSP); // the page keeps its own policy
    const docs = await fetch(`${t.baseUrl}/docs`);
    await docs.arrayBuffer();
    expect(docs.headers.get('content-security-policy')).toMatch(/script-src 'self'/);

    const s = await openStream(t.baseUrl, user.cookieHeader, { headers: { 'accept-encoding': 'gzip, br' } });
    expect(s.status).toBe(200);
    await s.waitForEvent('ready');
    expectHardened('stream', s.headers);
    expect(s.headers['content-encoding']).toBe(undefined);
    expect(s.headers['x-accel-buffering']).toBe('no');
    expect(String(s.headers['cache-control'])).toMatch(/no-cache/);
    s.close();
  });
});

describe('private answers are not stored by caches', () => {
  it('sends Cache-Control: no-store with the CSRF token, the user, the inbox, contacts and preferences', async () => {
    const paths = [
      '/auth/csrf',
      '/auth/me',
      '/notifications',
      '/notifications/unread-count',
      '/contacts',
      '/preferences',
    ];
    const got: Array<[string, number, string | null]> = [];
    for (const path of paths) {
      const res = await fetch(`${t.baseUrl}${path}`, { headers: { cookie: user.cookieHeader } });
      await res.arrayBuffer();
      got.push([path, res.status, res.headers.get('cache-control')]);
    }
    expect(got).toStrictEqual(paths.map((p) => [p, 200, 'no-store']));
    // An anonymous visitor's pre-login token too: it is bound to their cookie.
    const anonymous = await fetch(`${t.baseUrl}/auth/csrf`);
    await anonymous.arrayBuffer();
    expect(anonymous.headers.get('cache-control')).toBe('no-store');
    // The page and its assets keep their own (revalidated on every load).
    const page = await fetch(`${t.baseUrl}/`);
    await page.arrayBuffer();
    expect(page.headers.get('cache-control')).toBe('no-cache');
  });
});

describe('errors are JSON on routes that answer a page or XML', () => {
  it('labels the errors of GET /unsubscribe and POST /sms/inbound as JSON, so a reflected query key is not HTML', async () => {
    // The validator's message names the unknown query parameter as written: labelled with the
    // page's text/html, a browser rendered it (a meta refresh to anywhere, a fake form).
    const key = '<meta http-equiv=refresh content=0;url=http://evil.example/><h1>Session expired</h1>';
    const requests: Array<[string, string, RequestInit]> = [
      ['GET /unsubscribe', `/unsubscribe?${encodeURIComponent(key)}=1`, {}],
      [
        'POST /sms/inbound',
        '/sms/inbound',
        {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'From=%2B4915100000000&Body=STOP',
        },
      ],
    ];
    for (const [what, path, init] of requests) {
      const res = await fetch(`${t.baseUrl}${path}`, init);
      const body = (await res.json()) as { statusCode: number };
      expect([what, res.status >= 400, res.headers.get('content-type'), body.statusCode]).toStrictEqual([
        what,
        true,
        'application/json; charset=utf-8',
        res.status,
      ]);
    }
  });
});

describe('refused bodies leave no stack trace in the log', () => {
  const lines: string[] = [];
  let app: INestApplication;
  let db: { url: string; drop: () => Promise<void> };
  beforeAll(async () => {
    db = await freshDatabase();
    const config = loadConfig({
      NODE_ENV: 'test',
      DATA_DIR: mkdtempSync(join(tmpdir(), 'notif-test-')),
      SESSION_SECRET: 'test-secret-test-secret-test-secret-0123',
      LOG_LEVEL: 'info',
    });
    app = await createApp(config, db.url, { logDestination: { write: (l: string) => void lines.push(l) } });
    await app.listen(0, '127.0.0.1');
  });
  afterAll(async () => {
    await app.close();
    await db.drop();
  });

  it('logs one request line per deep or poisoned body, without an error or a stack', async () => {
    const address = (app.getHttpServer() as Server).address();
    const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const c = new Client(base);
    for (const raw of ['['.repeat(3000) + ']'.repeat(3000), '{"email":"a@b.c","password":"x","__proto__":{}}']) {
      expect((await c.post('/auth/register', undefined, { raw })).status).toBe(400);
    }
    const text = lines.join('');
    expect(text).toMatch(/"statusCode":400|"status(Code)?":400/);
    expect(text).not.toMatch(/"stack"|\n\s+at /);
    expect(text).not.toMatch(/"level":50/);
  });
});
