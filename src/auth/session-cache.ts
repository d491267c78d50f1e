import { Injectable, OnModuleDestroy } from '@nestjs/common';
import type { SessionData, Store } from 'express-session';
import type { Subscription } from 'rxjs';
import { SessionRevocations } from './session-revocations.js';

/**
 * A safety net, not the mechanism: revocations (through the bus, on every
 * instance) evict at once; this bounds how long a change made without one (a
 * row edited by hand, a revocation the bus lost without noticing) is missed.
 */
const TTL_MS = 60_000;
/** About 250 bytes of JSON each: some 25 MB at most. */
const MAX_ENTRIES = 100_000;

interface Entry {
  /** The session as the store returned it, serialized: each request gets its own copy to change. */
  json: string;
  userId: string;
  csrfToken: string;
  until: number;
}

/** What a request that leaves its session unchanged needs of it (see `steady`). */
export interface SteadySession {
  readonly userId: string;
  readonly csrfToken: string;
}

/**
 * The session rows of signed-in users per session id, so an authenticated
 * request costs no round trip for its session (with UserCache: none for its
 * identity at all). Wraps the store's get, set and destroy.
 *
 * Only sessions in their steady state are kept: signed in (`passport.user`)
 * and holding their CSRF token. Nothing else ever changes such a session
 * except its end, so every other session (one about to get its token, say) is
 * always read from the store, and a token added on another instance is seen
 * at once. A set or destroy on this instance evicts the id, before and after
 * the write, and keeps a read that overlapped it from being stored. The ends:
 * - logout, and sign-in over a signed-in session, raise a session revocation;
 *   a role change, a disable or a password reset a user revocation. They reach
 *   every instance over the bus and evict there; after a bus gap everything is
 *   dropped. On another instance a session thus outlives its end by the bus'
 *   latency (milliseconds), as the UserCache's entries do.
 * - expiry: an entry never outlives the session cookie's own `expires`, which
 *   is never later than the row's (a touch only moves the row's forward).
 * A read that a revocation overtook is not stored (the generation, as in
 * UserCache). Entries live at most TTL_MS, so a change that raised no
 * revocation is missed for at most that long.
 */
@Injectable()
export class SessionCache implements OnModuleDestroy {
  private readonly entries = new Map<string, Entry>();
  /** The read in flight per id; a write to that id takes its mark away, and the read is not stored. */
  private readonly reading = new Map<string, object>();
  private readonly subscription: Subscription;
  hits = 0;
  misses = 0;

  constructor(private readonly revocations: SessionRevocations) {
    this.subscription = revocations.applied$.subscribe((r) => {
      if (r.kind === 'session') this.forget(r.sessionId);
      else if (r.kind === 'user') this.forgetUser(r.userId);
      else this.entries.clear();
    });
  }

  onModuleDestroy(): void {
    this.subscription.unsubscribe();
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * The cached steady session with this id, without a copy of the session: for
   * requests that neither change nor save their session (session.middleware's
   * fast path). Undefined when it is not cached (then the store is asked).
   */
  steady(sid: string): SteadySession | undefined {
    const hit = this.entries.get(sid);
    if (!hit || Date.now() >= hit.until) return undefined;
    this.hits++;
    return hit;
  }

  /** Puts the cache in front of `store` (its methods are replaced, as express-session holds the store itself). */
  wrap(store: Store): void {
    const get = store.get.bind(store);
    const set = store.set.bind(store);
    const destroy = store.destroy.bind(store);
    store.get = (sid, callback) => {
      const hit = this.entries.get(sid);
      if (hit && Date.now() < hit.until) {
        this.hits++;
        // Synchronously: express-session does nothing after its call to get.
        return callback(null, JSON.parse(hit.json) as SessionData);
      }
      if (hit) this.entries.delete(sid);
      this.misses++;
      const mark = {};
      this.reading.set(sid, mark);
      const generation = this.revocations.generation;
      get(sid, (err, sess) => {
        const unchallenged = this.reading.get(sid) === mark && generation === this.revocations.generation;
        if (this.reading.get(sid) === mark) this.reading.delete(sid);
        if (!err && sess && unchallenged) this.remember(sid, sess);
        callback(err, sess);
      });
    };
    store.set = (sid, sess, callback) => {
      this.forget(sid);
      set(sid, sess, (err?: unknown) => {
        // A read that started while the row was being written may hold either version.
        this.forget(sid);
        callback?.(err);
      });
    };
    store.destroy = (sid, callback) => {
      this.forget(sid);
      destroy(sid, (err?: unknown) => {
        this.forget(sid);
        callback?.(err);
      });
    };
  }

  private remember(sid: string, sess: SessionData): void {
    const userId = sess.passport?.user;
    const csrfToken = sess.csrfToken;
    if (userId === undefined || typeof csrfToken !== 'string') return;
    const now = Date.now();
    const expires = sess.cookie?.expires ? new Date(sess.cookie.expires).getTime() : NaN;
    const until = Math.min(now + TTL_MS, expires);
    if (!(until > now)) return; // expired, or no expiry of its own (NaN)
    // Oldest first: drop what has expired at the front, and make room.
    for (const [id, entry] of this.entries) {
      if (entry.until > now && this.entries.size < MAX_ENTRIES) break;
      this.entries.delete(id);
    }
    this.entries.set(sid, { json: JSON.stringify(sess), userId: String(userId), csrfToken, until });
  }

  private forget(sid: string): void {
    this.entries.delete(sid);
    this.reading.delete(sid);
  }

  /** A scan: user revocations are rare (role change, disable, password reset), an index would cost every read. */
  private forgetUser(userId: string): void {
    for (const [sid, entry] of this.entries) if (entry.userId === userId) this.entries.delete(sid);
  }
}
