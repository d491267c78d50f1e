import { CanActivate, ExecutionContext, ForbiddenException, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { randomBytes, timingSafeEqual } from 'node:crypto';

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The session's CSRF token, created on first use (this saves the session). */
export function csrfTokenFor(req: Request): string {
  if (!req.session.csrfToken) req.session.csrfToken = randomBytes(32).toString('base64url');
  return req.session.csrfToken;
}

export function csrfTokenMatches(req: Request): boolean {
  const expected = req.session?.csrfToken;
  const given = req.get('x-csrf-token');
  if (!expected || !given) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Global guard: every state-changing request must carry the session's token in
 * X-CSRF-Token (synchronizer token pattern), sign-in and registration included,
 * so a cross-site form can neither act as the user nor log them into an
 * attacker's account. It runs before any route guard, Passport's included.
 */
const CSRF_EXEMPT = 'csrfExempt';

/**
 * For routes that no session authenticates, whose request carries its own proof
 * instead (a signed token in the URL: POST /unsubscribe, RFC 8058 one-click,
 * which mail providers send with no cookie and no token header).
 */
export const CsrfExempt = () => SetMetadata(CSRF_EXEMPT, true);

@Injectable()
export class CsrfGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<Request>();
    if (!UNSAFE_METHODS.has(req.method)) return true;
    if (this.reflector.getAllAndOverride<boolean>(CSRF_EXEMPT, [context.getHandler(), context.getClass()])) return true;
    if (!csrfTokenMatches(req)) throw new ForbiddenException('Missing or invalid CSRF token');
    return true;
  }
}
