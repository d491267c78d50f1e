import { afterEach, describe, expect, it } from '@jest/globals';
import type { SessionData, Store } from 'express-session';
import { SessionCache } from '../src/auth/session-cache.js';
import { SessionRevocations } from '../src/auth/session-revocations.js';

type Callback = (err?: unknown, sess?: SessionData | null) => void;

/** A store whose rows are a Map and whose answers wait until `flush` (or come at once when `immediate`). */
class FakeStore {
  readonly rows = new Map<string, SessionData>();
  reads = 0;
  immediate = true;
  private readonly waiting: Array<() => void> = [];

  get(sid: string, callback: Callback): void {
    this.reads++;
    // Read now, answer later: what a query whose answer is still on its way holds.
    const row = this.rows.get(sid);
    const answer = () => callback(null, row ? (JSON.parse(JSON.stringify(row)) as SessionData) : null);
    if (this.immediate) answer();
    else this.waiting.push(answer);
  }
  set(sid: string, sess: SessionData, callback?: (err?: unknown) => void): void {
    this.rows.set(sid, JSON.parse(JSON.stringify(sess)) as SessionData);
    callback?.();
  }
  destroy(sid: string, callback?: (err?: unknown) => void): void {
    this.rows.delete(sid);
    callback?.();
  }
  flush(): void {
    for (const answer of this.waiting.splice(0)) answer();
  }
}

const steady = (user: string, expiresInMs = 3_600_000): SessionData =>
  ({
    cookie: { expires: new Date(Date.now() + expiresInMs).toISOString(), originalMaxAge: expiresInMs, path: '/' },
    passport: { user },
    csrfToken: `token-of-${user}`,
  }) as unknown as SessionData;

const read = (store: FakeStore, sid: string): Promise<SessionData | null | undefined> =>
  new Promise((resolve, reject) =>
    (store as unknown as Store).get(sid, (err, sess) => (err ? reject(err as Error) : resolve(sess))),
  );

describe('SessionCache', () => {
  let revocations: SessionRevocations;
  let cache: SessionCache;
  let store: FakeStore;
  const setUp = () => {
    revocations = new SessionRevocations();
    cache = new SessionCache(revocations);
    store = new FakeStore();
    cache.wrap(store as unknown as Store);
  };
  afterEach(() => cache.onModuleDestroy());

  it('reads a steady session once and hands each request its own copy', async () => {
    setUp();
    store.rows.set('s1', steady('7'));
    const first = await read(store, 's1');
    first!.passport!.user = 'changed by a request';
    const second = await read(store, 's1');
    expect(second?.passport?.user).toBe('7');
    expect([store.reads, cache.hits, cache.misses]).toStrictEqual([1, 1, 1]);
  });

  it('does not keep a session without its CSRF token, without a user, or past its cookie expiry', async () => {
    setUp();
    const { csrfToken: _, ...noToken } = steady('7');
    store.rows.set('no-token', noToken as SessionData);
    store.rows.set('anonymous', { cookie: steady('7').cookie } as SessionData);
    store.rows.set('expired', steady('7', -1000));
    for (const sid of ['no-token', 'anonymous', 'expired']) {
      await read(store, sid);
      await read(store, sid);
    }
    expect(store.reads).toBe(6);
    expect(cache.size).toBe(0);
  });

  it('keeps an entry no longer than its cookie expiry', async () => {
    setUp();
    store.rows.set('s1', steady('7', 50));
    await read(store, 's1');
    await read(store, 's1');
    expect(store.reads).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 60));
    await read(store, 's1');
    expect(store.reads).toBe(2);
  });

  it('drops expired entries when it stores, so idle sessions do not pile up', async () => {
    setUp();
    store.rows.set('idle', steady('7', 20));
    await read(store, 'idle');
    expect(cache.size).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 30));
    store.rows.set('busy', steady('8'));
    await read(store, 'busy');
    expect(cache.size).toBe(1);
  });

  it('holds at most 100,000 sessions, dropping the oldest', async () => {
    setUp();
    const row = steady('7');
    for (let i = 0; i <= 100_000; i++) {
      store.rows.set(`s${i}`, row);
      await read(store, `s${i}`);
    }
    expect(cache.size).toBe(100_000);
    const reads = store.reads;
    await read(store, 's1');
    expect(store.reads).toBe(reads);
    await read(store, 's0');
    expect(store.reads).toBe(reads + 1);
  });

  it('a set or destroy on this instance evicts, and a read that overlapped it is not stored', async () => {
    setUp();
    store.rows.set('s1', steady('7'));
    await read(store, 's1');
    (store as unknown as Store).set('s1', { ...steady('7'), csrfToken: 'new' } as SessionData);
    expect((await read(store, 's1'))?.csrfToken).toBe('new');

    store.rows.set('s2', steady('8'));
    store.immediate = false;
    const overlapped = read(store, 's2');
    (store as unknown as Store).destroy('s2');
    store.flush();
    expect((await overlapped)?.passport?.user).toBe('8'); // read before the destroy
    expect(cache.size).toBe(1); // s1 only
  });

  it('does not store a read that a revocation overtook', async () => {
    setUp();
    store.rows.set('s1', steady('7'));
    store.immediate = false;
    const reading = read(store, 's1');
    revocations.received({ kind: 'session', sessionId: 'other' });
    store.flush();
    expect((await reading)?.passport?.user).toBe('7');
    expect(cache.size).toBe(0);
  });

  it('a session revocation evicts that session, a user revocation all of that user, a bus gap everything', async () => {
    setUp();
    for (const [sid, user] of [
      ['a1', '7'],
      ['a2', '7'],
      ['b1', '8'],
      ['c1', '9'],
    ])
      store.rows.set(sid, steady(user));
    for (const sid of ['a1', 'a2', 'b1', 'c1']) await read(store, sid);
    expect(cache.size).toBe(4);
    revocations.received({ kind: 'session', sessionId: 'c1' });
    expect(cache.size).toBe(3);
    revocations.revoke({ kind: 'user', userId: '7' });
    expect(cache.size).toBe(1);
    revocations.mayHaveMissed();
    expect(cache.size).toBe(0);
  });
});
