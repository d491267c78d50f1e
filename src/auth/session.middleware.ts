import connectPgSimple from 'connect-pg-simple';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import session from 'express-session';
import passport from 'passport';
import type { Pool } from 'pg';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AppConfig } from '../config/env.js';
import { errorBody } from '../common/http-exception.filter.js';
import type { SessionCache } from './session-cache.js';
import type { UserCache } from './user-cache.js';

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
 * The CSRF token of a session served by the fast path (see sessionMiddlewares),
 * which leaves `req.session` unset.
 */
const STEADY_CSRF_TOKEN = Symbol('steadyCsrfToken');
type FastPathRequest = Request & { [STEADY_CSRF_TOKEN]?: string };

/** The CSRF token stored in the request's session, however the session was read. */
export function sessionCsrfToken(req: Request): string | undefined {
  return req.session?.csrfToken ?? (req as FastPathRequest)[STEADY_CSRF_TOKEN];
}

/**
 * Routes that create, save, regenerate or destroy their session (sign-up, sign-in, sign-out,
 * the first CSRF token): they always run express-session and Passport.
 */
function writesSession(req: Request): boolean {
  return req.path.startsWith('/auth/') && req.path !== '/auth/me';
}

/** Runs `handlers` one after the other, as Express would, stopping at the first error. */
function inSequence(handlers: RequestHandler[]): RequestHandler {
  return (req, res, next) => {
    let i = 0;
    const step = (err?: unknown): void => {
      if (err || i === handlers.length) return next(err);
      handlers[i++]!(req, res, step);
    };
    step();
  };
}

/**
 * Cookie sessions stored in Postgres (connect-pg-simple, table from a
 * migration) and read through `cache`, then Passport reading the user out of
 * them.
 *
 * Most requests take a fast path instead: a signed-in session in its steady
 * state (cached by SessionCache, so already read from the store on this
 * instance) whose user UserCache holds needs nothing of express-session and
 * Passport but the user and the CSRF token. Their per-request work (a Session
 * object, two hashes of it to detect a change, the response's end wrapped to
 * save it, Passport's request wiring and its deserializer's promise) was about
 * a tenth of an order's CPU (docs/performance.md). Such a request is the same
 * for the store (a touch at most every TOUCH_INTERVAL_MS, no save: it changes
 * nothing) and for revocations, which evict both caches. Anything else (no
 * cookie, a session not cached, a route that writes its session) goes the
 * full way and fills the caches for the next request.
 */
export function sessionMiddlewares(
  config: AppConfig,
  pool: Pool,
  cache: SessionCache,
  users: UserCache,
): { handler: RequestHandler; store: session.Store } {
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
  const fullWay = inSequence([
    jsonErrors(sessions),
    passport.initialize() as RequestHandler,
    jsonErrors(passport.session() as RequestHandler),
  ]);
  const handler: RequestHandler = (req, res, next) => {
    if (writesSession(req)) return fullWay(req, res, next);
    const sid = sessionIdFromCookie(req.headers.cookie, config.sessionSecret);
    const steady = sid === null ? undefined : cache.steady(sid);
    const user = steady && users.peek(steady.userId);
    if (!user) return fullWay(req, res, next);
    req.user = user;
    (req as FastPathRequest)[STEADY_CSRF_TOKEN] = steady.csrfToken;
    // express-session touches after the response; a failed touch only leaves the expiry as it was.
    store.touch(sid!, { cookie: { expires: new Date(Date.now() + SESSION_TTL_SECONDS * 1000) } } as never, () => {});
    next();
  };
  return { handler, store };
}
