import connectPgSimple from 'connect-pg-simple';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import session from 'express-session';
import passport from 'passport';
import type { Pool } from 'pg';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AppConfig } from '../config/env.js';
import { errorBody } from '../common/http-exception.filter.js';
import type { SessionCache } from './session-cache.js';

export const SESSION_COOKIE = 'sid';
export const SESSION_TTL_SECONDS = 7 * 24 * 3600;
/**
 * A session row's expiry is pushed forward (a `touch`, one UPDATE) at most this
 * often per session and instance, not on every request: a session expires
 * SESSION_TTL after its last use, give or take this much.
 */
export const TOUCH_INTERVAL_MS = 5 * 60_000;

/**
 * The session id in a `sid` cookie, as express-session signs it
 * ("s:" + id + "." + base64 HMAC-SHA256 without padding, URI-encoded), or null
 * when it is absent, malformed or signed with another secret. The stream's
 * guard reads the cookie with this instead of running express-session.
 */
export function sessionIdFromCookie(header: string | undefined, secret: string): string | null {
  if (!header) return null;
  let raw: string | undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) {
      raw = part.slice(eq + 1).trim();
      break; // the first one wins, as in express-session's cookie parser
    }
  }
  if (!raw) return null;
  if (raw.startsWith('"') && raw.endsWith('"') && raw.length >= 2) raw = raw.slice(1, -1);
  try {
    raw = raw.includes('%') ? decodeURIComponent(raw) : raw;
  } catch {
    return null;
  }
  if (!raw.startsWith('s:')) return null;
  const signed = raw.slice(2);
  const dot = signed.lastIndexOf('.');
  if (dot <= 0) return null;
  const value = signed.slice(0, dot);
  const expected = Buffer.from(
    value + '.' + createHmac('sha256', secret).update(value).digest('base64').replace(/=+$/, ''),
  );
  const given = Buffer.from(signed);
  return expected.length === given.length && timingSafeEqual(expected, given) ? value : null;
}

/**
 * Wraps the store's touch so each session is touched at most once per
 * TOUCH_INTERVAL_MS on this instance. Two generations of "touched lately"
 * maps, swapped every interval, bound the memory without a timer.
 */
function throttleTouch(store: session.Store): void {
  const touch = store.touch?.bind(store);
  if (!touch) return;
  let current = new Map<string, number>();
  let previous = new Map<string, number>();
  let generationStart = Date.now();
  store.touch = (sid, sess, callback) => {
    const now = Date.now();
    if (now - generationStart >= TOUCH_INTERVAL_MS) {
      previous = current;
      current = new Map();
      generationStart = now;
    }
    const last = current.get(sid) ?? previous.get(sid);
    if (last !== undefined && now - last < TOUCH_INTERVAL_MS) return callback?.();
    current.set(sid, now);
    touch(sid, sess, callback);
  };
}

/**
 * Runs an Express middleware and turns its errors (the session store or the
 * user lookup failing because the database is down) into the contract's JSON
 * error instead of Express's HTML page. Never lets a request through
 * anonymous because the session could not be read.
 */
function jsonErrors(inner: RequestHandler): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    inner(req, res, (err?: unknown) => {
      if (!err) return next();
      const body = errorBody(err);
      const status = body.statusCode === 500 ? 503 : body.statusCode;
      if (!res.headersSent)
        res
          .status(status)
          .json({ statusCode: status, message: status === 503 ? 'Service temporarily unavailable' : body.message });
    });
  };
}

/**
 * Cookie sessions stored in Postgres (connect-pg-simple, table from a
 * migration) and read through `cache`, then Passport reading the user out of
 * them.
 */
export function sessionMiddlewares(
  config: AppConfig,
  pool: Pool,
  cache: SessionCache,
): { handlers: RequestHandler[]; store: session.Store } {
  const PgStore = connectPgSimple(session);
  const store = new PgStore({
    pool,
    tableName: 'sessions',
    createTableIfMissing: false,
    pruneSessionInterval: 15 * 60,
    ttl: SESSION_TTL_SECONDS,
    errorLog: () => undefined,
  });
  throttleTouch(store);
  cache.wrap(store);
  const sessions = session({
    name: SESSION_COOKIE,
    store,
    secret: config.sessionSecret,
    resave: false,
    saveUninitialized: false,
    cookie: {
      httpOnly: true,
      sameSite: 'lax',
      secure: config.production,
      path: '/',
      maxAge: SESSION_TTL_SECONDS * 1000,
    },
  });
  return {
    handlers: [
      jsonErrors(sessions),
      passport.initialize() as RequestHandler,
      jsonErrors(passport.session() as RequestHandler),
    ],
    store,
  };
}
