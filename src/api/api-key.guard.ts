import {
  applyDecorators,
  CanActivate,
  createParamDecorator,
  ExecutionContext,
  Injectable,
  UnauthorizedException,
  UseGuards,
} from '@nestjs/common';
import { ApiBearerAuth, ApiTooManyRequestsResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { CsrfExempt } from '../auth/csrf.js';
import { type ApiCaller, ApiKeysService } from './api-keys.service.js';
import { ApiRateLimit } from './rate-limit.js';

/** The OpenAPI security scheme of /v1 (src/docs/openapi.ts declares it). */
export const API_KEY_SCHEME = 'apiKey';

type KeyedRequest = Request & { apiCaller?: ApiCaller };

/** The key of `Authorization: Bearer <key>`, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const m = /^Bearer +(\S+) *$/i.exec(header ?? '');
  return m?.[1];
}

/**
 * /v1 takes an API key and nothing else: a session cookie plays no part (the
 * session middleware does not even run there, see app.factory.ts), so neither
 * does CSRF.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly keys: ApiKeysService,
    private readonly rate: ApiRateLimit,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<KeyedRequest>();
    const key = bearerToken(req.get('authorization'));
    if (!key) throw new UnauthorizedException('An API key is required: Authorization: Bearer nk_…');
    const caller = await this.keys.authenticate(key);
    if (!caller) throw new UnauthorizedException('Unknown or revoked API key');
    await this.rate.consume(caller.keyId, context.switchToHttp().getResponse<Response>());
    req.apiCaller = caller;
    return true;
  }
}

/** The access rule of /v1: an API key in `Authorization: Bearer`, documented as such in OpenAPI. */
export function ApiKeyAuth() {
  return applyDecorators(
    CsrfExempt(),
    UseGuards(ApiKeyGuard),
    ApiBearerAuth(API_KEY_SCHEME),
    ApiUnauthorizedResponse({ description: 'Missing, unknown or revoked API key' }),
    ApiTooManyRequestsResponse({
      description: 'More than API_RATE_PER_SECOND requests this second with this key (Retry-After, RateLimit)',
    }),
  );
}

/** The authenticated caller; throws 401 rather than ever returning undefined. */
export const CurrentApiCaller = createParamDecorator((_: unknown, ctx: ExecutionContext): ApiCaller => {
  const caller = ctx.switchToHttp().getRequest<KeyedRequest>().apiCaller;
  if (!caller) throw new UnauthorizedException('An API key is required: Authorization: Bearer nk_…');
  return caller;
});
