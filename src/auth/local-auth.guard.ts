import { BadRequestException, ExecutionContext, Injectable } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import type { Request } from 'express';
import { validationMessages } from '../common/validation-message.js';
import { LoginDto } from './auth.dto.js';

/**
 * Validates the body like the global ValidationPipe would (guards run before
 * pipes), then runs the local strategy and logs the user in. Passport's
 * req.logIn regenerates the session: a new id, the old one destroyed, so a
 * session fixed before sign-in is worthless after it.
 */
@Injectable()
export class LocalAuthGuard extends AuthGuard('local') {
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
    await super.canActivate(context);
    await super.logIn(req);
    return true;
  }
}
