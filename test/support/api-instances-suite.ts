import { beforeAll, describe, expect, it } from '@jest/globals';
import { ADMIN_EMAIL, ADMIN_PASSWORD, Instance } from './cluster.js';
import { Client } from './http.js';
import { instancePair } from './instance-pair.js';

/**
 * Two real instances of the built service on one database, and on the Redis bus (and so the
 * Redis rate store) when `redisUrl` is given: revocation and the rate per key across them.
 */
export function apiInstancesSuite(bus: string, redisUrl?: () => Promise<string>): void {
  describe(`the API across instances (${bus})`, () => {
    const RATE = 5;

    let admin: Client;
    let userId: string;

    const pair = instancePair(async () => {
      const redis = await redisUrl?.();
      // Every test uses keys of its own: the rate is per key.
      const env = { API_RATE_PER_SECOND: String(RATE) };
      return [
        { redisUrl: redis, env, name: 'A' },
        { redisUrl: redis, env, name: 'B' },
      ];
    });
    beforeAll(async () => {
      admin = new Client(pair.b.baseUrl);
      expect((await admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)).status).toBe(200);
      userId = (await new Client(pair.a.baseUrl).signUp('reader@example.com')).id;
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
      (await pair.db.query(`SELECT count(*)::int AS n FROM notifications WHERE title = $1`, [title])).rows[0].n;

    describe('API keys across instances', () => {
      it('a key revoked on one instance is refused by the other at once', async () => {
        const key = await newKey();
        expect((await publish(pair.a, key, 'before revoke')).status).toBe(201);
        expect((await publish(pair.b, key, 'before revoke')).status).toBe(201);
        const id = (await admin.get('/admin/api-keys')).body.items.at(-1).id;
        expect((await admin.request('DELETE', `/admin/api-keys/${id}`)).status).toBe(204);
        const res = await publish(pair.a, key, 'after revoke');
        expect(res.status).toBe(401);
        expect(await res.json()).toStrictEqual({ statusCode: 401, message: 'Unknown or revoked API key' });
        expect(await count('after revoke')).toBe(0);
      });
    });

    describe('one Idempotency-Key on two instances at once', () => {
      it('writes exactly one notification; the others are 409 or replays of it', async () => {
        const key = await newKey();
        const answers = await Promise.all(
          Array.from({ length: 4 }, (_, i) =>
            publish(i % 2 ? pair.a : pair.b, key, 'idem-both', { 'idempotency-key': 'both-1' }),
          ),
        );
        expect(await count('idem-both')).toBe(1);
        const bodies = await Promise.all(answers.map((r) => r.json()));
        const written = answers.filter((r) => r.status === 201 && r.headers.get('idempotent-replayed') === null);
        expect(written).toHaveLength(1);
        const first = bodies[answers.indexOf(written[0])];
        answers.forEach((r, i) => {
          expect([201, 409]).toContain(r.status);
          if (r.status === 201) expect(bodies[i]).toStrictEqual(first);
        });
      });
    });

    describe('the rate per API key', () => {
      it('is counted across instances: past API_RATE_PER_SECOND in a second, 429 with Retry-After and the RateLimit fields', async () => {
        // A burst of 4 × RATE requests, alternating between A and B; if it did not fit in one
        // second (a loaded machine), the next key tries again: per instance, RATE would pass on each.
        for (let attempt = 0; ; attempt++) {
          const key = await newKey();
          const started = Date.now();
          const answers = await Promise.all(
            Array.from({ length: 4 * RATE }, (_, i) => publish(i % 2 ? pair.a : pair.b, key, 'rate')),
          );
          if (Date.now() - started >= 1000 && attempt < 5) continue;
          expect(Date.now() - started).toBeLessThan(1000);
          const ok = answers.filter((r) => r.status === 201);
          const refused = answers.filter((r) => r.status === 429);
          expect(ok.length).toBe(RATE);
          expect(refused.length).toBe(3 * RATE);
          for (const r of answers) expect(r.headers.get('ratelimit-policy')).toBe(`"default";q=${RATE};w=1`);
          const left = ok.map((r) => r.headers.get('ratelimit')).sort();
          expect(left).toStrictEqual(Array.from({ length: RATE }, (_, i) => `"default";r=${i};t=1`));
          const one = refused[0];
          expect(one.headers.get('retry-after')).toBe('1');
          expect(one.headers.get('ratelimit')).toBe('"default";r=0;t=1');
          expect(await one.json()).toStrictEqual({
            statusCode: 429,
            message: `More than ${RATE} requests per second with this API key`,
          });
          break;
        }
      });
    });
  });
}
