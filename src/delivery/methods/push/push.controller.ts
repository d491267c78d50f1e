import { Body, Controller, Delete, Get, HttpCode, Inject, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import { Authenticated, CurrentUser } from '../../../auth/authenticated.decorator.js';
import type { SessionUser } from '../../../auth/session-user.js';
import { APP_CONFIG } from '../../../config/config.module.js';
import type { AppConfig } from '../../../config/env.js';
import { PushEndpointDto, PushPublicKeyDto, PushSubscriptionDto } from './push.dto.js';
import { PushSubscriptions } from './push-subscriptions.js';

@ApiTags('push')
@Controller('push')
export class PushController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly subscriptions: PushSubscriptions,
  ) {}

  @Get('public-key')
  @ApiOkResponse({ type: PushPublicKeyDto })
  publicKey() {
    return { publicKey: this.config.delivery.vapid.publicKey };
  }

  @Post('subscriptions')
  @Authenticated()
  @HttpCode(201)
  @ApiCreatedResponse({ description: "This browser's subscription is stored (or moved to this user)" })
  @ApiBadRequestResponse({ description: 'Endpoint outside PUSH_ENDPOINT_ALLOWLIST, or malformed keys' })
  async subscribe(@CurrentUser() user: SessionUser, @Body() body: PushSubscriptionDto): Promise<void> {
    await this.subscriptions.add(user.id, body.endpoint, body.keys);
  }

  @Delete('subscriptions')
  @Authenticated()
  @HttpCode(204)
  @ApiNoContentResponse({ description: "Removed if it was this user's" })
  async unsubscribe(@CurrentUser() user: SessionUser, @Body() body: PushEndpointDto): Promise<void> {
    await this.subscriptions.remove(user.id, body.endpoint);
  }
}
