import { describe, expect, it } from '@jest/globals';
import { SessionRevocations } from '../src/auth/session-revocations.js';
import type { SessionUser } from '../src/auth/session-user.js';
import { UserCache } from '../src/auth/user-cache.js';
import { userCacheSuite } from './support/user-cache-suite.js';

// Real processes on the Postgres bus (the Redis one: user-cache.redis.test.ts).
userCacheSuite('postgres', () => Promise.resolve(undefined));

describe('UserCache', () => {
  const user: SessionUser = { id: '7', email: 'u@example.com', role: 'user', displayName: null, createdAt: new Date() };

  it('does not store a load that a revocation overtook (it may hold the old role)', async () => {
    const revocations = new SessionRevocations();
    const cache = new UserCache(revocations);
    let finish!: (u: SessionUser) => void;
    const loading = cache.get('7', () => new Promise<SessionUser>((resolve) => (finish = resolve)));
    revocations.received({ kind: 'user', userId: '7' });
    finish(user);
    expect(await loading).toBe(user);
    expect(cache.size).toBe(0);
    let loads = 0;
    await cache.get('7', async () => (loads++, user));
    await cache.get('7', async () => (loads++, user));
    expect(loads).toBe(1); // stored once no revocation overtook the load
    cache.onModuleDestroy();
  });

  it('a user revocation evicts that user; a bus gap empties the cache', async () => {
    const revocations = new SessionRevocations();
    const cache = new UserCache(revocations);
    await cache.get('7', async () => user);
    await cache.get('8', async () => ({ ...user, id: '8' }));
    revocations.revoke({ kind: 'user', userId: '7' });
    expect(cache.size).toBe(1);
    revocations.mayHaveMissed();
    expect(cache.size).toBe(0);
    cache.onModuleDestroy();
  });
});
