import { Body, Controller, Get, HttpCode, Inject, Post, Req, Res, UseGuards } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiSecurity,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/env.js';
import type { PublicUser } from '../users/user.entity.js';
import { CsrfDto, LoginDto, LoginResultDto, RegisterDto, UserDto } from './auth.dto.js';
import { AuthService } from './auth.service.js';
import { Authenticated, CurrentUser } from './authenticated.decorator.js';
import { clearPreLoginToken, csrfTokenFor, issuePreLoginToken } from './csrf.js';
import { LocalAuthGuard } from './local-auth.guard.js';
import { SessionRevocations } from './session-revocations.js';
import type { SessionUser } from './session-user.js';
import { clearSessionHint, setSessionHint } from './session-hint.js';
import { SESSION_COOKIE } from './session.middleware.js';
import { localeFromAcceptLanguage } from '../users/locale.js';
import { SignupThrottleService } from './signup-throttle.service.js';

const publicUser = (u: SessionUser): PublicUser => ({
  id: u.id,
  email: u.email,
  role: u.role,
  displayName: u.displayName,
});

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly revocations: SessionRevocations,
    private readonly signups: SignupThrottleService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get('csrf')
  @ApiOkResponse({
    type: CsrfDto,
    description:
      'A token for X-CSRF-Token: before sign-in a signed double-submit token (cookie `csrf`, no session stored); ' +
      "signed in, the session's own token",
  })
  async csrf(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<CsrfDto> {
    if (!req.user) return { csrfToken: issuePreLoginToken(req, res, this.config) };
    const isNew = !req.session.csrfToken;
    const csrfToken = csrfTokenFor(req);
    // A new token is stored before it is handed out: express-session would save it after the
    // answer and ignore a failure, giving a 200 with a token no session holds (the database is
    // down: this becomes a 503).
    if (isNew) await new Promise<void>((resolve, reject) => req.session.save((err) => (err ? reject(err) : resolve())));
    return { csrfToken };
  }

  @Post('register')
  @ApiSecurity('csrf')
  @ApiCreatedResponse({ type: UserDto })
  @ApiConflictResponse({ description: 'Email already registered' })
  @ApiTooManyRequestsResponse({ description: 'More than SIGNUP_RATE_PER_MINUTE sign-ups from this address' })
  async register(@Req() req: Request, @Body() body: RegisterDto): Promise<PublicUser> {
    await this.signups.consume(req.ip ?? 'unknown');
    // The user's language until they choose one in preferences.
    return this.auth.register({ ...body, locale: localeFromAcceptLanguage(req.headers['accept-language']) });
  }

  @Post('login')
  @HttpCode(200)
  @UseGuards(LocalAuthGuard)
  @ApiSecurity('csrf')
  @ApiOkResponse({ type: LoginResultDto, description: 'Signed in; the session id and the CSRF token are new' })
  @ApiUnauthorizedResponse({ description: 'Invalid email or password' })
  @ApiTooManyRequestsResponse({ description: 'Too many failed sign-ins' })
  login(
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @CurrentUser() user: SessionUser,
    @Body() _body: LoginDto,
  ): LoginResultDto {
    clearPreLoginToken(res, this.config);
    setSessionHint(res, this.config);
    return { user: publicUser(user), csrfToken: csrfTokenFor(req) };
  }

  @Post('logout')
  @HttpCode(204)
  @Authenticated()
  @ApiNoContentResponse({ description: 'Session destroyed; its open streams end' })
  async logout(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<void> {
    const sessionId = req.sessionID;
    await new Promise<void>((resolve, reject) => req.logout((err) => (err ? reject(err) : resolve())));
    await new Promise<void>((resolve, reject) => req.session.destroy((err) => (err ? reject(err) : resolve())));
    res.clearCookie(SESSION_COOKIE, { path: '/' });
    clearSessionHint(res, this.config);
    this.revocations.revoke({ kind: 'session', sessionId });
  }

  @Get('me')
  @Authenticated()
  @ApiOkResponse({ type: UserDto })
  me(@CurrentUser() user: SessionUser): PublicUser {
    return publicUser(user);
  }
}
