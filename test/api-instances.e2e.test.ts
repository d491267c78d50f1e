import { describe, expect, it } from '@jest/globals';
import { apiInstancesSuite } from './support/api-instances-suite.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, Instance } from './support/cluster.js';
import { Client } from './support/http.js';
import { instancePair } from './support/instance-pair.js';

// Revocation and the rate per key across two instances, on the Postgres bus and rate store.
apiInstancesSuite('postgres');

describe('a crash between the commit and the answer', () => {
  const pair = instancePair(() => [
    { name: 'survivor' },
    // Internal test hook: this instance SIGKILLs itself right after a publish commits.
    { env: { API_TEST_EXIT_AFTER_COMMIT: '1' }, name: 'doomed' },
  ]);

  it('kill -9 after the commit: the retry on another instance replays, and nothing is written twice', async () => {
    const { a: survivor, b: doomed, db } = pair;
    const admin = new Client(survivor.baseUrl);
    expect((await admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)).status).toBe(200);
    const key = (await admin.post('/admin/api-keys', { name: 'crash' })).body.key as string;
    const userId = (await new Client(survivor.baseUrl).signUp('crash@example.com')).id;
    const publish = (on: Instance) =>
      fetch(`${on.baseUrl}/v1/notifications`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': 'crash-1' },
        body: JSON.stringify({ to: { userIds: [userId] }, channel: 'order', title: 'crash', body: 'b' }),
      });

    await expect(publish(doomed)).rejects.toThrow();
    expect(await doomed.exited).toStrictEqual({ code: null, signal: 'SIGKILL' });
    const written = await db.query(`SELECT id::text FROM notifications WHERE title = 'crash'`);
    expect(written.rows).toHaveLength(1); // committed before the process died

    const retry = await publish(survivor);
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await retry.json()).toStrictEqual({ ids: [written.rows[0].id], skipped: [] });
    const after = await db.query(`SELECT count(*)::int AS n FROM notifications WHERE title = 'crash'`);
    expect(after.rows[0].n).toBe(1);
  });
});
