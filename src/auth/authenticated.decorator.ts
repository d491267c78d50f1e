import {
  applyDecorators,
  CanActivate,
  Controller,
  createParamDecorator,
  ExecutionContext,
  ForbiddenException,
  Injectable,
  SetMetadata,
  UnauthorizedException,
  UseGuards,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiCookieAuth, ApiForbiddenResponse, ApiSecurity, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import type { Request } from 'express';
import type { SessionUser } from './session-user.js';

const AUTH_OPTIONS = 'auth:options';

export interface AuthenticatedOptions {
  admin?: boolean;
}

@Injectable()
export class SessionAuthGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const options =
      this.reflector.getAllAndOverride<AuthenticatedOptions>(AUTH_OPTIONS, [
        context.getHandler(),
        context.getClass(),
      ]) ?? {};
    const req = context.switchToHttp().getRequest<Request>();
    const user = req.user as SessionUser | undefined;
    if (!user) throw new UnauthorizedException('Authentication required');
    if (options.admin && user.role !== 'admin') throw new ForbiddenException('Admin role required');
    return true;
  }
}

/**
 * The one access rule decorator: `@Authenticated()` needs a session,
 * `@Authenticated({ admin: true })` an admin one. It also documents the cookie
 * and CSRF security schemes in OpenAPI.
 */
export function Authenticated(options: AuthenticatedOptions = {}) {
  return applyDecorators(
    SetMetadata(AUTH_OPTIONS, options),
    UseGuards(SessionAuthGuard),
    ApiCookieAuth('session'),
    ApiSecurity('csrf'),
    ApiUnauthorizedResponse({ description: 'No session' }),
    ...(options.admin ? [ApiForbiddenResponse({ description: 'Not an admin, or missing CSRF token' })] : []),
  );
}

/**
 * A controller of `/admin/<path>`: admin sessions only, listed under `admin` in OpenAPI. Every
 * admin controller is declared with it, so none can have the path without the rule.
 */
export function AdminController(path: string) {
  // In the order the three stood over each class (a class's decorators apply bottom-up).
  return applyDecorators(Controller(`admin/${path}`), Authenticated({ admin: true }), ApiTags('admin'));
}

/** The signed-in user; throws 401 rather than ever returning undefined. */
export const CurrentUser = createParamDecorator((_: unknown, ctx: ExecutionContext): SessionUser => {
  const user = ctx.switchToHttp().getRequest<Request>().user as SessionUser | undefined;
  if (!user) throw new UnauthorizedException('Authentication required');
  return user;
});
