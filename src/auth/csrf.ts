import { CanActivate, ExecutionContext, ForbiddenException, Inject, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/env.js';
import { sessionCsrfToken } from './session.middleware.js';

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The anonymous visitor's random nonce; the token is its HMAC, so nothing is stored server-side. */
export const PRE_LOGIN_COOKIE = 'csrf';
const PRE_LOGIN_COOKIE_MAX_AGE_MS = 24 * 3600 * 1000;
const NONCE = /^[A-Za-z0-9_-]{43}$/;

/** The session's CSRF token, created on first use (this saves the session): signed-in users only. */
export function csrfTokenFor(req: Request): string {
  if (!req.session.csrfToken) req.session.csrfToken = randomBytes(32).toString('base64url');
  return req.session.csrfToken;
}

function preLoginToken(secret: string, nonce: string): string {
  return createHmac('sha256', secret).update(`csrf-pre-login:${nonce}`).digest('base64url');
}

function preLoginNonce(req: Request): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === PRE_LOGIN_COOKIE) {
      const value = part.slice(eq + 1).trim();
      return NONCE.test(value) ? value : undefined;
    }
  }
  return undefined;
}

/**
 * GET /auth/csrf before sign-in: a signed double-submit token. The cookie holds a
 * random nonce, the answer its HMAC under SESSION_SECRET; no session row is stored,
 * so anonymous visitors cost the database nothing (issue 13). The same nonce is kept
 * while the cookie lives, so several tabs share one token.
 */
export function issuePreLoginToken(req: Request, res: Response, config: AppConfig): string {
  let nonce = preLoginNonce(req);
  if (!nonce) {
    nonce = randomBytes(32).toString('base64url');
    res.cookie(PRE_LOGIN_COOKIE, nonce, {
      httpOnly: true,
      sameSite: 'lax',
      secure: config.production,
      path: '/',
      maxAge: PRE_LOGIN_COOKIE_MAX_AGE_MS,
    });
  }
  return preLoginToken(config.sessionSecret, nonce);
}

/** Sign-in rotates everything: the pre-login nonce goes with the old session id. */
export function clearPreLoginToken(res: Response, config: AppConfig): void {
  res.clearCookie(PRE_LOGIN_COOKIE, { httpOnly: true, sameSite: 'lax', secure: config.production, path: '/' });
}

function same(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Which token a request must carry: a stored session's own token when it has one (it
 * is bound to that session id and replaced when sign-in regenerates the session); a
 * signed-in session without one has no valid token yet; a visitor without a session
 * must carry the HMAC of their pre-login cookie's nonce.
 */
export function csrfTokenMatches(req: Request, secret: string): boolean {
  const given = req.get('x-csrf-token');
  if (!given) return false;
  const stored = sessionCsrfToken(req);
  if (stored) return same(stored, given);
  if (req.user) return false;
  const nonce = preLoginNonce(req);
  return nonce !== undefined && same(preLoginToken(secret, nonce), given);
}

/**
 * Global guard: every state-changing request must carry a valid token in
 * X-CSRF-Token, sign-in and registration included, so a cross-site form can
 * neither act as the user nor log them into an attacker's account. It runs
 * before any route guard, Passport's included.
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
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly reflector: Reflector,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<Request>();
    if (!UNSAFE_METHODS.has(req.method)) return true;
    if (this.reflector.getAllAndOverride<boolean>(CSRF_EXEMPT, [context.getHandler(), context.getClass()])) return true;
    if (!csrfTokenMatches(req, this.config.sessionSecret))
      throw new ForbiddenException('Missing or invalid CSRF token');
    return true;
  }
}
