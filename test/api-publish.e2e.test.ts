import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { Idempotency } from '../src/api/idempotency.js';
import type { TestApp } from './support/app.js';
import { Client } from './support/http.js';
import { startWithAdmin } from './support/shop.js';

let t: TestApp;
let admin: Client;
beforeAll(async () => ({ t, admin } = await startWithAdmin()));
afterAll(() => t.close());

async function newKey(name = 'warehouse'): Promise<{ id: string; key: string }> {
  const res = await admin.post('/admin/api-keys', { name });
  expect(res.status).toBe(201);
  return res.body;
}

/** A plain HTTP call with a key: no cookie, no CSRF token. */
async function call(
  method: string,
  path: string,
  key: string | null,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const res = await fetch(t.baseUrl + path, {
    method,
    headers: {
      ...(key === null ? {} : { authorization: `Bearer ${key}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

const message = (to: unknown, extra: Record<string, unknown> = {}) => ({
  to,
  channel: 'order',
  title: 'Back in stock',
  body: 'The blue kettle is back.',
  ...extra,
});

describe('API keys', () => {
  it('creates a key shown once and stored only as its SHA-256; lists keys without it', async () => {
    const res = await admin.post('/admin/api-keys', { name: 'billing' });
    expect(res.status).toBe(201);
    expect(Object.keys(res.body).sort()).toStrictEqual(['createdAt', 'id', 'key', 'name', 'prefix']);
    expect(res.body.key).toMatch(/^nk_[A-Za-z0-9_-]{43}$/);
    expect(res.body.key.startsWith(res.body.prefix)).toBe(true);
    const stored = await t.db.query(`SELECT key_hash FROM api_keys WHERE id = $1`, [res.body.id]);
    expect(Buffer.from(stored.rows[0].key_hash)).toStrictEqual(createHash('sha256').update(res.body.key).digest());
    const list = await admin.get('/admin/api-keys');
    expect(list.status).toBe(200);
    const item = list.body.items.find((k: { id: string }) => k.id === res.body.id);
    expect(item).toStrictEqual({
      id: res.body.id,
      name: 'billing',
      prefix: res.body.prefix,
      createdAt: res.body.createdAt,
      lastUsedAt: null,
      revokedAt: null,
    });
    expect(list.text.includes(res.body.key)).toBe(false);
  });

  it('is for admins only, and validates the name', async () => {
    const user = new Client(t.baseUrl);
    await user.signUp('not-admin@example.com');
    expect((await user.post('/admin/api-keys', { name: 'x' })).status).toBe(403);
    expect((await user.get('/admin/api-keys')).status).toBe(403);
    const bad = await admin.post('/admin/api-keys', { name: '' });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toBe('name must be 1 to 200 characters');
  });

  it('/v1 takes Authorization: Bearer only: missing, malformed, unknown or revoked keys and a cookie alone are 401 JSON', async () => {
    const { id, key } = await newKey();
    const to = { userIds: ['1'] };
    for (const auth of [null, 'nk_short', `nk_${'A'.repeat(43)}`, `${key}x`]) {
      const res = await call('POST', '/v1/notifications', auth, message(to));
      expect(res.status).toBe(401);
      expect(res.body.statusCode).toBe(401);
    }
    const basic = await call('POST', '/v1/notifications', null, message(to), { authorization: `Basic ${key}` });
    expect(basic.status).toBe(401);
    // An admin's session cookie and CSRF token are no key.
    const cookieOnly = await admin.post('/v1/notifications', message(to));
    expect(cookieOnly.status).toBe(401);
    // With a key, no CSRF token is needed, and a foreign Origin proves nothing either way.
    const ok = await call('POST', '/v1/notifications', key, message(to), { origin: 'https://elsewhere.example' });
    expect(ok.status).toBe(201);
    expect((await admin.request('DELETE', `/admin/api-keys/${id}`)).status).toBe(204);
    const revoked = await call('POST', '/v1/notifications', key, message(to));
    expect(revoked.status).toBe(401);
    expect(revoked.body).toStrictEqual({ statusCode: 401, message: 'Unknown or revoked API key' });
    const listed = (await admin.get('/admin/api-keys')).body.items.find((k: { id: string }) => k.id === id);
    expect(listed.revokedAt).not.toBeNull();
    expect((await admin.request('DELETE', '/admin/api-keys/999999')).status).toBe(404);
  });

  it('records lastUsedAt, but not on every request', async () => {
    const { id, key } = await newKey();
    for (let i = 0; i < 3; i++)
      expect((await call('POST', '/v1/notifications', key, message({ userIds: ['1'] }))).status).toBe(201);
    const read = async () =>
      (await admin.get('/admin/api-keys')).body.items.find((k: { id: string }) => k.id === id).lastUsedAt;
    let first: string | null = null;
    for (let i = 0; i < 100 && first === null; i++) {
      first = await read();
      if (first === null) await new Promise((r) => setImmediate(r));
    }
    expect(first).not.toBeNull();
    expect((await call('POST', '/v1/notifications', key, message({ userIds: ['1'] }))).status).toBe(201);
    expect(await read()).toBe(first); // within the minute: no write
  });
});

describe('POST /v1/notifications', () => {
  let key: string;
  const users: Array<{ id: string; email: string; c: Client }> = [];
  beforeAll(async () => {
    key = (await newKey()).key;
    for (const name of ['ann', 'bob', 'cat']) {
      const c = new Client(t.baseUrl);
      const u = await c.signUp(`${name}@example.com`);
      users.push({ ...u, c });
    }
  });

  it('writes one personal notification per known user, in the order given, and lists the unknown ones', async () => {
    const res = await call(
      'POST',
      '/v1/notifications',
      key,
      message({ userIds: [users[2].id, '99999', users[0].id, users[2].id] }, { data: { sku: 'k1' } }),
    );
    expect(res.status).toBe(201);
    expect(res.body.skipped).toStrictEqual(['99999']);
    expect(res.body.ids).toHaveLength(2);
    const rows = await t.db.query(
      `SELECT id::text, user_id::text, type, severity, data FROM notifications WHERE id = ANY($1::bigint[]) ORDER BY notifications.id`,
      [res.body.ids],
    );
    expect(rows.rows.map((r) => r.id)).toStrictEqual(res.body.ids);
    expect(rows.rows.map((r) => r.user_id)).toStrictEqual([users[2].id, users[0].id]);
    expect(rows.rows[0]).toMatchObject({ type: 'order.message', severity: 'info', data: { sku: 'k1' } });
    const inbox = await users[0].c.get('/notifications');
    expect(inbox.body.items[0]).toMatchObject({ id: res.body.ids[1], title: 'Back in stock', channel: 'order' });
  });

  it('by email, whatever the spelling; unknown emails come back as given', async () => {
    const res = await call(
      'POST',
      '/v1/notifications',
      key,
      message({ emails: ['BOB@Example.com', 'nobody@example.com'] }, { type: 'order.restocked', severity: 'warning' }),
    );
    expect(res.status).toBe(201);
    expect(res.body.skipped).toStrictEqual(['nobody@example.com']);
    const rows = await t.db.query(`SELECT user_id::text, type, severity FROM notifications WHERE id = $1`, [
      res.body.ids[0],
    ]);
    expect(rows.rows[0]).toStrictEqual({ user_id: users[1].id, type: 'order.restocked', severity: 'warning' });
  });

  it('1,000 recipients in one request: one statement, ids in the order given', async () => {
    const { rows } = await t.db.query(
      `INSERT INTO users (email, password_hash, role) SELECT 'bulk' || g || '@example.com', 'x', 'user' FROM generate_series(1, 1000) g RETURNING id::text`,
    );
    const ids = rows.map((r) => r.id).reverse();
    const res = await call('POST', '/v1/notifications', key, message({ userIds: ids }));
    expect(res.status).toBe(201);
    expect(res.body.ids).toHaveLength(1000);
    const written = await t.db.query(
      `SELECT id::text, user_id::text FROM notifications WHERE id = ANY($1::bigint[]) ORDER BY notifications.id`,
      [res.body.ids],
    );
    expect(written.rows.map((r) => r.user_id)).toStrictEqual(ids);
    expect(written.rows.map((r) => r.id)).toStrictEqual(res.body.ids);
  });

  it.each([
    [{ to: {}, channel: 'order', title: 't', body: 'b' }, 'to must have exactly one of userIds, emails or topic'],
    [
      { to: { userIds: ['1'], emails: ['a@b.c'] }, channel: 'order', title: 't', body: 'b' },
      'to must have exactly one of userIds, emails or topic',
    ],
    [
      message({ userIds: Array.from({ length: 1001 }, (_, i) => String(i + 1)) }),
      'to.userIds may list at most 1000 users',
    ],
    [message({ userIds: ['x'] }), 'to.userIds must be decimal user ids as strings'],
    [message({ userIds: ['1'] }, { type: 'Bad Type' }), 'type must match ^[a-z][a-z0-9_.-]{0,63}$'],
    [message({ userIds: ['1'] }, { channel: 'nope' }), 'channel must be one of'],
    [message({ userIds: ['1'] }, { severity: 'loud' }), 'severity must be one of'],
    [message({ userIds: ['1'] }, { title: '' }), 'title must be 1 to 200 characters'],
    [message({ userIds: ['1'] }, { data: [1] }), 'data must be an object'],
    [message({ userIds: ['1'] }, { deliver: ['pigeon'] }), 'deliver must list only'],
    [
      message({ userIds: ['1'] }, { actions: [{ id: 'a', label: 'x', style: 'loud' }] }),
      'actions.0.style must be one of',
    ],
    [
      message({ userIds: ['1'] }, { actions: [{ id: 'a', label: 'x', url: 'javascript:alert(1)', style: 'primary' }] }),
      'actions.0.url must be an http(s) URL',
    ],
    // An id the action route would refuse could be published but never pressed.
    [message({ userIds: ['1'] }, { actions: [{ id: 'Track', label: 'x', style: 'primary' }] }), 'actions.0.id must be'],
    [
      message({ userIds: ['1'] }, { actions: [1, 2].map(() => ({ id: 'a', label: 'x', style: 'primary' })) }),
      'actions need different ids',
    ],
    [message({ userIds: ['1'] }, { translations: { de: { title: '' } } }), 'translations must map BCP 47 locales'],
    [message({ userIds: ['1'] }, { extra: 1 }), 'property extra should not exist'],
  ])('400 with a clear message and nothing written (%#)', async (body, expected) => {
    const before = (await t.db.query(`SELECT count(*)::int AS n FROM notifications`)).rows[0].n;
    const res = await call('POST', '/v1/notifications', key, body);
    expect(res.status).toBe(400);
    expect(res.body.message).toContain(expected);
    expect((await t.db.query(`SELECT count(*)::int AS n FROM notifications`)).rows[0].n).toBe(before);
  });

  it('a body over 64 KB is 413 and writes nothing (the contract allows 1 MB only to broadcasts)', async () => {
    const before = (await t.db.query(`SELECT count(*)::int AS n FROM notifications`)).rows[0].n;
    // 1,000 addresses of 70 characters: a publish the API would otherwise take.
    const emails = Array.from(
      { length: 1000 },
      (_, i) => `${'x'.repeat(50)}.${String(i).padStart(4, '0')}@example.com`,
    );
    const res = await call('POST', '/v1/notifications', key, message({ emails }));
    expect(res.status).toBe(413);
    expect(res.body).toStrictEqual({ statusCode: 413, message: 'Request body is larger than 65536 bytes' });
    expect((await t.db.query(`SELECT count(*)::int AS n FROM notifications`)).rows[0].n).toBe(before);
  });

  it('accepts actions and translations in the contract shape', async () => {
    const res = await call(
      'POST',
      '/v1/notifications',
      key,
      message(
        { userIds: [users[0].id] },
        {
          actions: [{ id: 'view', label: 'View', url: 'https://shop.example.com/k', style: 'primary' }],
          translations: { de: { title: 'Wieder da', body: 'Der Kessel.' }, 'fr-CA': { title: 'De retour', body: '' } },
        },
      ),
    );
    expect(res.status).toBe(201);
    // The actions are the notification's, as the recipient reads it.
    const inbox = await users[0].c.get('/notifications?status=all');
    const got = inbox.body.items.find((n: { id: string }) => n.id === res.body.ids[0]);
    expect(got.actions).toStrictEqual([
      { id: 'view', label: 'View', url: 'https://shop.example.com/k', style: 'primary' },
    ]);
  });
});

describe('Idempotency-Key', () => {
  let key: string;
  let userId: string;
  beforeAll(async () => {
    key = (await newKey('idempotent')).key;
    userId = (await new Client(t.baseUrl).signUp('idem@example.com')).id;
  });
  const count = async (title: string) =>
    (await t.db.query(`SELECT count(*)::int AS n FROM notifications WHERE title = $1`, [title])).rows[0].n;

  it('replays the first answer with Idempotent-Replayed: true and writes nothing; another body is 422', async () => {
    const body = message({ userIds: [userId, '99999'] }, { title: 'idem-1', data: { a: 1, b: [1, 2] } });
    const first = await call('POST', '/v1/notifications', key, body, { 'idempotency-key': 'order-7 restock' });
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    // The same body with its keys in another order is the same request.
    const reordered = { data: { b: [1, 2], a: 1 }, ...body };
    const again = await call('POST', '/v1/notifications', key, reordered, { 'idempotency-key': 'order-7 restock' });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toStrictEqual(first.body);
    expect(await count('idem-1')).toBe(1);
    const other = await call(
      'POST',
      '/v1/notifications',
      key,
      { ...body, title: 'idem-1b' },
      { 'idempotency-key': 'order-7 restock' },
    );
    expect(other.status).toBe(422);
    expect(other.body.message).toBe('This Idempotency-Key was already used with a different request body');
    expect(await count('idem-1b')).toBe(0);
    // Keys belong to their API key: another one may use the same string.
    const otherKey = (await newKey('other')).key;
    const theirs = await call('POST', '/v1/notifications', otherKey, body, { 'idempotency-key': 'order-7 restock' });
    expect(theirs.status).toBe(201);
    expect(theirs.headers.get('idempotent-replayed')).toBeNull();
    expect(await count('idem-1')).toBe(2);
  });

  it('concurrent requests with one key write exactly one notification; the others are 409 or replays', async () => {
    const body = message({ userIds: [userId] }, { title: 'idem-race' });
    const answers = await Promise.all(
      Array.from({ length: 12 }, () => call('POST', '/v1/notifications', key, body, { 'idempotency-key': 'race-1' })),
    );
    expect(await count('idem-race')).toBe(1);
    const written = answers.filter((a) => a.status === 201 && a.headers.get('idempotent-replayed') === null);
    expect(written).toHaveLength(1);
    for (const a of answers) {
      expect([201, 409]).toContain(a.status);
      if (a.status === 201) expect(a.body).toStrictEqual(written[0].body);
      else expect(a.body.message).toBe('A request with this Idempotency-Key is still in progress; retry later');
    }
  });

  it('400 for a key that is empty, too long or not printable ASCII, with nothing written', async () => {
    for (const bad of ['a'.repeat(256), 'caf\u00e9']) {
      const res = await call('POST', '/v1/notifications', key, message({ userIds: [userId] }, { title: 'idem-bad' }), {
        'idempotency-key': bad,
      });
      expect(res.status).toBe(400);
      expect(res.body.message).toBe('Idempotency-Key must be 1 to 255 printable ASCII characters');
    }
    expect(await count('idem-bad')).toBe(0);
  });

  it('keeps a key 24 hours: an older one writes again, and the prune removes it', async () => {
    const body = message({ userIds: [userId] }, { title: 'idem-old' });
    expect((await call('POST', '/v1/notifications', key, body, { 'idempotency-key': 'old-1' })).status).toBe(201);
    await t.db.query(`UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'old-1'`);
    const later = await call('POST', '/v1/notifications', key, body, { 'idempotency-key': 'old-1' });
    expect(later.status).toBe(201);
    expect(later.headers.get('idempotent-replayed')).toBeNull();
    expect(await count('idem-old')).toBe(2);
    await t.db.query(`UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'old-1'`);
    expect(await t.app.get(Idempotency).prune()).toBeGreaterThanOrEqual(1);
    expect((await t.db.query(`SELECT count(*)::int AS n FROM idempotency_keys WHERE key = 'old-1'`)).rows[0].n).toBe(0);
  });
});
