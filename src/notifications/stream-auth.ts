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
import { sessionIdFromCookie } from '../auth/session.middleware.js';
import { errorBody } from '../common/http-exception.filter.js';
import { invalid } from '../common/domain-error.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/env.js';
import { CHANNELS, type Channel, isChannel } from './notification.types.js';
import { type StreamOpening, StreamService } from './stream.service.js';

const MAX_ID = 9223372036854775807n;

/** Last-Event-ID: decimal digits only, 0 … 2^63−1. */
export function parseLastEventId(raw: string | undefined): bigint | null {
  if (raw === undefined) return null;
  if (!/^\d{1,19}$/.test(raw)) throw invalid('Last-Event-ID must be a decimal integer from 0 to 9223372036854775807');
  const value = BigInt(raw);
  if (value > MAX_ID) throw invalid('Last-Event-ID must be a decimal integer from 0 to 9223372036854775807');
  return value;
}

export function parseChannels(raw: unknown): Channel[] {
  if (raw === undefined) return [...CHANNELS];
  if (typeof raw !== 'string') throw invalid('channels must be a comma-separated list');
  const names = raw.split(',').map((c) => c.trim());
  const unknown = names.filter((c) => !isChannel(c));
  if (unknown.length > 0) throw invalid(`Unknown channel: ${unknown.map((c) => JSON.stringify(c)).join(', ')}`);
  return [...new Set(names as Channel[])];
}

/** The Last-Event-ID header (or the `lastEventId` query when it is absent) and `channels`. */
function streamParams(req: Request): { lastEventId: bigint | null; channels: Channel[] } {
  const header = req.headers['last-event-id'] as string | undefined;
  const query: unknown = req.query.lastEventId;
  if (query !== undefined && typeof query !== 'string') throw invalid('lastEventId must be a single value');
  return {
    lastEventId: parseLastEventId(header ?? (query as string | undefined)),
    channels: parseChannels(req.query.channels),
  };
}

const STREAM_OPENING = Symbol('streamOpening');
type StreamRequest = Request & { [STREAM_OPENING]?: StreamOpening };

/**
 * Authenticates GET /notifications/stream by itself: verifies the signed `sid`
 * cookie as express-session would (same secret), then one batched query for
 * session, user and where the stream starts (StreamService.lookUp). The stream
 * route does not run express-session or Passport (see configureApp): their
 * per-request Session object, hooks and `req.user` wiring would live as long
 * as the stream, hours, for a check done once. Leaves the answer on the
 * request for @StreamOpened() and `req.user` (the request log line's userId).
 */
@Injectable()
export class StreamAuthGuard implements CanActivate {
  constructor(
    private readonly streams: StreamService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<StreamRequest>();
    // Checks on the request itself (the Origin of a stream open, issue 13) belong here,
    // before any database work.
    const sessionId = sessionIdFromCookie(req.headers.cookie, this.config.sessionSecret);
    if (!sessionId) throw new UnauthorizedException('Authentication required');
    // The lookup needs them; a malformed one is refused after it, so that no session is a 401 first.
    let params: ReturnType<typeof streamParams> | null = null;
    let malformed: Error | null = null;
    try {
      params = streamParams(req);
    } catch (err) {
      malformed = err as Error;
    }
    let opening: StreamOpening | null;
    try {
      opening = await this.streams.lookUp(sessionId, params?.lastEventId ?? null, params?.channels ?? CHANNELS);
    } catch (err) {
      // Never let a stream through anonymous because the session could not be read.
      if (errorBody(err).statusCode === 503) throw new ServiceUnavailableException('Service temporarily unavailable');
      throw err;
    }
    if (!opening) throw new UnauthorizedException('Authentication required');
    if (malformed) throw malformed;
    req[STREAM_OPENING] = opening;
    req.user = opening.user;
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

/** The stream's session, user and starting point; throws 401 rather than ever returning undefined. */
export const StreamOpened = createParamDecorator((_: unknown, ctx: ExecutionContext): StreamOpening => {
  const opening = ctx.switchToHttp().getRequest<StreamRequest>()[STREAM_OPENING];
  if (!opening) throw new UnauthorizedException('Authentication required');
  return opening;
});
