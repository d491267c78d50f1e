import { Injectable, OnModuleDestroy } from '@nestjs/common';
import type { Subscription } from 'rxjs';
import { SessionRevocations } from './session-revocations.js';
import type { SessionUser } from './session-user.js';

/**
 * A safety net, not the mechanism: revocations (through the bus, on every
 * instance) evict at once; this bounds how long anything changed without a
 * revocation (none today) could be served stale.
 */
const TTL_MS = 60_000;
const MAX_ENTRIES = 100_000;

/**
 * The signed-in user per id, so an authenticated request reads only its
 * session row, not the user row too. A role change, a disabled account or a
 * password reset raises a user revocation, which reaches every instance over
 * the bus and evicts the entry there; after a bus gap the whole cache is
 * dropped (the bus may have lost a revocation).
 *
 * A load that raced a revocation is not stored: it started before the
 * revocation's generation and may hold the old role.
 */
@Injectable()
export class UserCache implements OnModuleDestroy {
  private readonly users = new Map<string, { user: SessionUser; at: number }>();
  private readonly subscription: Subscription;
  hits = 0;
  misses = 0;

  constructor(private readonly revocations: SessionRevocations) {
    this.subscription = revocations.applied$.subscribe((r) => {
      if (r.kind === 'user') this.users.delete(r.userId);
      else if (r.kind === 'unknown') this.users.clear();
    });
  }

  onModuleDestroy(): void {
    this.subscription.unsubscribe();
  }

  /** The user (null: unknown or disabled), from the cache or from `load`. */
  async get(id: string, load: (id: string) => Promise<SessionUser | null>): Promise<SessionUser | null> {
    const hit = this.users.get(id);
    if (hit && Date.now() - hit.at < TTL_MS) {
      this.hits++;
      return hit.user;
    }
    this.misses++;
    const generation = this.revocations.generation;
    const user = await load(id);
    this.store(id, user, generation);
    return user;
  }

  /** The cached user with this id, or undefined when it is not cached (then `get` loads it). */
  peek(id: string): SessionUser | undefined {
    const hit = this.users.get(id);
    if (!hit || Date.now() - hit.at >= TTL_MS) return undefined;
    this.hits++;
    return hit.user;
  }

  /** Stores what was read at `generation`, unless a revocation arrived since. */
  store(id: string, user: SessionUser | null, generation: number): void {
    // Absent or disabled users are not remembered: re-enabling raises no revocation.
    if (user === null || generation !== this.revocations.generation) return;
    if (this.users.size >= MAX_ENTRIES) this.users.clear();
    this.users.set(id, { user, at: Date.now() });
  }

  get size(): number {
    return this.users.size;
  }
}
