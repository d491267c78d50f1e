import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { freshDatabase } from './support/app.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, Instance } from './support/cluster.js';
import { Client } from './support/http.js';

/** Two real instances of the built service on one database (and a third that dies after its commit). */
let database: Awaited<ReturnType<typeof freshDatabase>>;
let db: pg.Pool;
let a: Instance;
let b: Instance;
let admin: Client;
let userId: string;

beforeAll(async () => {
  database = await freshDatabase();
  db = new pg.Pool({ connectionString: database.url, max: 2 });
  const env = { API_RATE_PER_SECOND: '1000' };
  [a, b] = await Promise.all([
    Instance.start({ databaseUrl: database.url, env, name: 'A' }),
    Instance.start({ databaseUrl: database.url, env, name: 'B' }),
  ]);
  admin = new Client(b.baseUrl);
  expect((await admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)).status).toBe(200);
  userId = (await new Client(a.baseUrl).signUp('reader@example.com')).id;
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await db?.end();
  await database?.drop();
});

async function newKey(): Promise<string> {
  const res = await admin.post('/admin/api-keys', { name: 'instances' });
  expect(res.status).toBe(201);
  return res.body.key;
}

function publish(on: Instance, key: string, title: string, headers: Record<string, string> = {}) {
  return fetch(`${on.baseUrl}/v1/notifications`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ to: { userIds: [userId] }, channel: 'order', title, body: 'b' }),
  });
}

const count = async (title: string) =>
  (await db.query(`SELECT count(*)::int AS n FROM notifications WHERE title = $1`, [title])).rows[0].n;

describe('API keys across instances', () => {
  it('a key revoked on one instance is refused by the other at once', async () => {
    const key = await newKey();
    expect((await publish(a, key, 'before revoke')).status).toBe(201);
    expect((await publish(b, key, 'before revoke')).status).toBe(201);
    const id = (await admin.get('/admin/api-keys')).body.items.at(-1).id;
    expect((await admin.request('DELETE', `/admin/api-keys/${id}`)).status).toBe(204);
    const res = await publish(a, key, 'after revoke');
    expect(res.status).toBe(401);
    expect(await res.json()).toStrictEqual({ statusCode: 401, message: 'Unknown or revoked API key' });
    expect(await count('after revoke')).toBe(0);
  });
});

describe('a crash between the commit and the answer', () => {
  it('kill -9 after the commit: the retry on another instance replays, and nothing is written twice', async () => {
    // Internal test hook: this instance SIGKILLs itself right after a publish commits.
    const doomed = await Instance.start({
      databaseUrl: database.url,
      env: { API_TEST_EXIT_AFTER_COMMIT: '1' },
      name: 'doomed',
    });
    const key = await newKey();
    const headers = { 'idempotency-key': 'crash-1' };
    await expect(publish(doomed, key, 'crash', headers)).rejects.toThrow();
    expect(await doomed.exited).toStrictEqual({ code: null, signal: 'SIGKILL' });
    const written = await db.query(`SELECT id::text FROM notifications WHERE title = 'crash'`);
    expect(written.rows).toHaveLength(1); // committed before the process died

    const retry = await publish(a, key, 'crash', headers);
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await retry.json()).toStrictEqual({ ids: [written.rows[0].id], skipped: [] });
    expect(await count('crash')).toBe(1);
  });
});
