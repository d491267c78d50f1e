import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { PassportSerializer } from '@nestjs/passport';
import { UsersService } from '../users/users.service.js';
import type { SessionUser } from './session-user.js';
import { UserCache } from './user-cache.js';

/**
 * The session stores only the user id; the user comes from the UserCache,
 * which every instance evicts when a revocation (role change, disabled
 * account, password reset) reaches it over the bus, so such a change still
 * takes effect on the very next request.
 */
@Injectable()
export class SessionSerializer extends PassportSerializer implements OnModuleDestroy {
  /**
   * Passport is a process-wide singleton and keeps every registered
   * serializer. A closed app's one (its database pool gone) must step aside
   * with passport's 'pass', or an app started after it in the same process
   * (a restart in the tests) would answer every signed-in request with 503.
   */
  private closed = false;

  constructor(
    private readonly users: UsersService,
    private readonly cache: UserCache,
  ) {
    super();
  }

  onModuleDestroy(): void {
    this.closed = true;
  }

  serializeUser(user: SessionUser, done: (err: unknown, id?: string) => void): void {
    if (this.closed) return done('pass');
    done(null, user.id);
  }

  deserializeUser(id: string, done: (err: unknown, user?: SessionUser | false) => void): void {
    if (this.closed) return done('pass');
    this.cache
      .get(String(id), (key) => this.load(key))
      .then(
        (u) => done(null, u ?? false),
        (err) => done(err),
      );
  }

  private async load(id: string): Promise<SessionUser | null> {
    const u = await this.users.findById(id);
    return u && !u.disabledAt
      ? { id: u.id, email: u.email, role: u.role, displayName: u.displayName, createdAt: u.createdAt }
      : null;
  }
}
