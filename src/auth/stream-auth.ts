import {
  applyDecorators,
  CanActivate,
  createParamDecorator,
  ExecutionContext,
  Inject,
  Injectable,
  ServiceUnavailableException,
  UnauthorizedException,
  UseGuards,
} from '@nestjs/common';
import { ApiCookieAuth, ApiUnauthorizedResponse } from '@nestjs/swagger';
import type { Request } from 'express';
import { DataSource } from 'typeorm';
import { Batcher } from '../common/batcher.js';
import { errorBody } from '../common/http-exception.filter.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/env.js';
import type { Role } from '../users/user.entity.js';
import type { SessionUser } from './session-user.js';
import { SessionRevocations } from './session-revocations.js';
import { sessionIdFromCookie } from './session.middleware.js';
import { UserCache } from './user-cache.js';

/** Who opened a stream: its session and that session's user, read together. */
export interface StreamAuth {
  readonly sessionId: string;
  readonly user: SessionUser;
}

const STREAM_AUTH = Symbol('streamAuth');

/**
 * How often the stream-open lookups (this guard's, and the starting points of
 * StreamService) may send a batch. Only a storm waits for it: an open after a
 * quiet spell is looked up on the next turn. During one it keeps each of these
 * lookups to 50 round trips a second (unless batches fill), whatever the rate
 * of opens, for at most 20 ms more at each of the two before `ready`. In a
 * storm of 2,000 opens: 0.18 queries per open at 10 ms, 0.09 at 25 ms.
 */
export const STREAM_OPEN_BATCH_MS = 20;
type StreamRequest = Request & { [STREAM_AUTH]?: StreamAuth };

/**
 * Session and user of many stream opens in one query per batch: during a
 * reconnect storm thousands of opens share a handful of round trips. The
 * stream route does not run express-session or Passport (see configureApp):
 * their per-request Session object, hooks and `req.user` wiring would live as
 * long as the stream, hours, for a check done once.
 */
@Injectable()
export class StreamSessions {
  private readonly batcher: Batcher<string, StreamAuth | null>;

  constructor(
    private readonly db: DataSource,
    private readonly users: UserCache,
    private readonly revocations: SessionRevocations,
  ) {
    this.batcher = new Batcher((sids) => this.fetch(sids), { minIntervalMs: STREAM_OPEN_BATCH_MS });
  }

  /** Round trips spent so far (one per batch). */
  get queries(): number {
    return this.batcher.batches;
  }

  /** The live session with this id and its enabled user, or null. */
  find(sessionId: string): Promise<StreamAuth | null> {
    return this.batcher.load(sessionId);
  }

  private async fetch(sids: string[]): Promise<Array<StreamAuth | null>> {
    // Users read here also serve this instance's REST requests (UserCache), unless a revocation
    // arrived while the query ran.
    const generation = this.revocations.generation;
    // The session stores the user id as passport.user (see SessionSerializer); the CASE keeps
    // a malformed value from failing the whole batch and lets the join use the users key.
    const rows: Array<{
      sid: string;
      id: string;
      email: string;
      role: Role;
      display_name: string | null;
      created_at: Date;
      locale: string;
    }> = await this.db.query(
      `SELECT s.sid, u.id::text AS id, u.email, u.role, u.display_name, u.created_at, u.locale
         FROM sessions s
         JOIN users u ON u.id = CASE WHEN s.sess #>> '{passport,user}' ~ '^[0-9]{1,18}$'
                                     THEN (s.sess #>> '{passport,user}')::bigint END
        WHERE s.sid = ANY ($1::text[]) AND s.expire > now() AND u.disabled_at IS NULL`,
      [sids],
    );
    const bySid = new Map(rows.map((r) => [r.sid, r]));
    return sids.map((sid) => {
      const r = bySid.get(sid);
      if (!r) return null;
      const user: SessionUser = {
        id: r.id,
        email: r.email,
        role: r.role,
        displayName: r.display_name,
        createdAt: r.created_at,
        locale: r.locale,
      };
      this.users.store(user.id, user, generation);
      return { sessionId: sid, user };
    });
  }
}

/**
 * Authenticates GET /notifications/stream by itself: verifies the signed `sid`
 * cookie as express-session would (same secret), then one batched query for
 * session and user. Leaves the result on the request for @StreamSession() and
 * `req.user` (the request log line's userId).
 */
@Injectable()
export class StreamAuthGuard implements CanActivate {
  constructor(
    private readonly sessions: StreamSessions,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<StreamRequest>();
    // Checks on the request itself (the Origin of a stream open, issue 13) belong here,
    // before any database work.
    const sessionId = sessionIdFromCookie(req.headers.cookie, this.config.sessionSecret);
    if (!sessionId) throw new UnauthorizedException('Authentication required');
    let auth: StreamAuth | null;
    try {
      auth = await this.sessions.find(sessionId);
    } catch (err) {
      // Never let a stream through anonymous because the session could not be read.
      if (errorBody(err).statusCode === 503) throw new ServiceUnavailableException('Service temporarily unavailable');
      throw err;
    }
    if (!auth) throw new UnauthorizedException('Authentication required');
    req[STREAM_AUTH] = auth;
    req.user = auth.user;
    return true;
  }
}

/** The stream route's access rule: a session, checked by StreamAuthGuard. */
export function StreamAuthenticated() {
  return applyDecorators(
    UseGuards(StreamAuthGuard),
    ApiCookieAuth('session'),
    ApiUnauthorizedResponse({ description: 'No session' }),
  );
}

/** The stream's session and user; throws 401 rather than ever returning undefined. */
export const StreamSession = createParamDecorator((_: unknown, ctx: ExecutionContext): StreamAuth => {
  const auth = ctx.switchToHttp().getRequest<StreamRequest>()[STREAM_AUTH];
  if (!auth) throw new UnauthorizedException('Authentication required');
  return auth;
});
