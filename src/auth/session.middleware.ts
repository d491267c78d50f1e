import connectPgSimple from 'connect-pg-simple';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import session from 'express-session';
import passport from 'passport';
import type { Pool } from 'pg';
import type { AppConfig } from '../config/env.js';
import { errorBody } from '../common/http-exception.filter.js';

export const SESSION_COOKIE = 'sid';
const SESSION_TTL_SECONDS = 7 * 24 * 3600;

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
 * migration), then Passport reading the user out of them.
 */
export function sessionMiddlewares(
  config: AppConfig,
  pool: Pool,
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
