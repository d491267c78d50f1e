import { BadRequestException, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import type { Request } from 'express';
import { validationMessages } from '../common/validation-message.js';
import { LoginDto } from './auth.dto.js';
import { SessionRevocations } from './session-revocations.js';

/**
 * Validates the body like the global ValidationPipe would (guards run before
 * pipes), then runs the local strategy and logs the user in. Passport's
 * req.logIn regenerates the session: a new id, the old one destroyed, so a
 * session fixed before sign-in is worthless after it. A signed-in session so
 * replaced is revoked like a logout: other instances may hold it in their
 * SessionCache, and its open streams end.
 */
@Injectable()
export class LocalAuthGuard extends AuthGuard('local') {
  // A property: the mixin's constructor takes Passport's module options.
  @Inject(SessionRevocations) private readonly revocations!: SessionRevocations;

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<Request>();
    const body: unknown = req.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new BadRequestException('Body must be a JSON object');
    }
    const errors = await validate(plainToInstance(LoginDto, body), { whitelist: true, forbidNonWhitelisted: true });
    if (errors.length > 0) {
      throw new BadRequestException(validationMessages(errors).join('; '));
    }
    const replaced = req.user ? req.sessionID : null;
    await super.canActivate(context);
    await super.logIn(req);
    if (replaced) this.revocations.revoke({ kind: 'session', sessionId: replaced });
    return true;
  }
}
