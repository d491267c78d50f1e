import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { PassportModule } from '@nestjs/passport';
import { UsersModule } from '../users/users.module.js';
import { AuthController } from './auth.controller.js';
import { AuthService } from './auth.service.js';
import { CsrfGuard } from './csrf.js';
import { LocalStrategy } from './local.strategy.js';
import { LoginThrottleService } from './login-throttle.service.js';
import { SessionCache } from './session-cache.js';
import { SessionRevocations } from './session-revocations.js';
import { SessionSerializer } from './session.serializer.js';
import { SignupThrottleService } from './signup-throttle.service.js';
import { UserCache } from './user-cache.js';

@Module({
  imports: [UsersModule, PassportModule.register({ session: true })],
  controllers: [AuthController],
  providers: [
    AuthService,
    LocalStrategy,
    SessionSerializer,
    LoginThrottleService,
    SignupThrottleService,
    SessionRevocations,
    UserCache,
    SessionCache,
    { provide: APP_GUARD, useClass: CsrfGuard },
  ],
  exports: [AuthService, SessionRevocations, UserCache, SessionCache, LoginThrottleService, UsersModule],
})
export class AuthModule {}
