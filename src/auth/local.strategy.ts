import { Injectable, UnauthorizedException } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import { Strategy } from 'passport-local';
import { DUMMY_HASH, verifyPassword } from '../users/password.js';
import { UsersService } from '../users/users.service.js';
import { LoginThrottleService } from './login-throttle.service.js';
import type { SessionUser } from './session-user.js';

/** One message for an unknown email and a wrong password: no account enumeration. */
export const INVALID_CREDENTIALS = 'Invalid email or password';

@Injectable()
export class LocalStrategy extends PassportStrategy(Strategy) {
  constructor(
    private readonly users: UsersService,
    private readonly throttle: LoginThrottleService,
  ) {
    super({ usernameField: 'email', passwordField: 'password', passReqToCallback: true, session: true });
  }

  async validate(req: Request, email: string, password: string): Promise<SessionUser> {
    const ip = req.ip ?? 'unknown';
    await this.throttle.attempt(email, ip);
    const user = await this.users.findForLogin(email);
    let ok: boolean;
    try {
      // Verify against a dummy hash for unknown emails so timing does not tell them apart.
      ok = await verifyPassword(password, user?.passwordHash ?? DUMMY_HASH);
    } catch (err) {
      // Refused unchecked (too many hashes waiting): not a guess, so it does not count.
      await this.throttle.release(email, ip);
      throw err;
    }
    if (!user || !ok || user.disabledAt) throw new UnauthorizedException(INVALID_CREDENTIALS);
    await this.throttle.succeeded(email, ip);
    return {
      id: user.id,
      email: user.email,
      role: user.role,
      displayName: user.displayName,
      createdAt: user.createdAt,
    };
  }
}
