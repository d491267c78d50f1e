import type { Response } from 'express';
import type { AppConfig } from '../config/env.js';
import { SESSION_TTL_SECONDS } from './session.middleware.js';

/**
 * `has_session=1` beside the session cookie: set at sign-in, cleared at sign-out, readable by
 * the page (not HttpOnly; it says only that this browser was given a session). The inbox page
 * asks `GET /auth/me` and opens the stream only when it is there: without a session both answer
 * 401, which every browser logs as a console error on each signed-out visit.
 */
export const SESSION_HINT_COOKIE = 'has_session';

const options = (config: AppConfig) => ({ path: '/', sameSite: 'lax' as const, secure: config.production });

export function setSessionHint(res: Response, config: AppConfig): void {
  res.cookie(SESSION_HINT_COOKIE, '1', { ...options(config), maxAge: SESSION_TTL_SECONDS * 1000 });
}

export function clearSessionHint(res: Response, config: AppConfig): void {
  res.clearCookie(SESSION_HINT_COOKIE, options(config));
}
