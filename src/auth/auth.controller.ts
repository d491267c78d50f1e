import { Body, Controller, Get, HttpCode, Post, Req, Res, UseGuards } from '@nestjs/common';
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
import type { PublicUser } from '../users/user.entity.js';
import { CsrfDto, LoginDto, LoginResultDto, RegisterDto, UserDto } from './auth.dto.js';
import { AuthService } from './auth.service.js';
import { Authenticated, CurrentUser } from './authenticated.decorator.js';
import { csrfTokenFor } from './csrf.js';
import { LocalAuthGuard } from './local-auth.guard.js';
import { SessionRevocations } from './session-revocations.js';
import type { SessionUser } from './session-user.js';
import { SESSION_COOKIE } from './session.middleware.js';

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
  ) {}

  @Get('csrf')
  @ApiOkResponse({ type: CsrfDto, description: 'A token for X-CSRF-Token, bound to this session (created if needed)' })
  async csrf(@Req() req: Request): Promise<CsrfDto> {
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
  register(@Body() body: RegisterDto): Promise<PublicUser> {
    return this.auth.register(body);
  }

  @Post('login')
  @HttpCode(200)
  @UseGuards(LocalAuthGuard)
  @ApiSecurity('csrf')
  @ApiOkResponse({ type: LoginResultDto, description: 'Signed in; the session id is new' })
  @ApiUnauthorizedResponse({ description: 'Invalid email or password' })
  @ApiTooManyRequestsResponse({ description: 'Too many failed sign-ins' })
  login(@Req() req: Request, @CurrentUser() user: SessionUser, @Body() _body: LoginDto): LoginResultDto {
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
    this.revocations.revoke({ kind: 'session', sessionId });
  }

  @Get('me')
  @Authenticated()
  @ApiOkResponse({ type: UserDto })
  me(@CurrentUser() user: SessionUser): PublicUser {
    return publicUser(user);
  }
}
