import { Injectable } from '@nestjs/common';
import { PassportSerializer } from '@nestjs/passport';
import { UsersService } from '../users/users.service.js';
import type { SessionUser } from './session-user.js';

/**
 * The session stores only the user id; the user is loaded per request, so a
 * role change or a disabled account takes effect on the very next request.
 */
@Injectable()
export class SessionSerializer extends PassportSerializer {
  constructor(private readonly users: UsersService) {
    super();
  }

  serializeUser(user: SessionUser, done: (err: unknown, id?: string) => void): void {
    done(null, user.id);
  }

  deserializeUser(id: string, done: (err: unknown, user?: SessionUser | false) => void): void {
    this.users.findById(String(id)).then(
      (u) =>
        done(
          null,
          u && !u.disabledAt
            ? { id: u.id, email: u.email, role: u.role, displayName: u.displayName, createdAt: u.createdAt }
            : false,
        ),
      (err) => done(err),
    );
  }
}
