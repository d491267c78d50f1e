import { Body, Get, Post, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiCreatedResponse, ApiOkResponse } from '@nestjs/swagger';
import { AdminController, CurrentUser } from '../auth/authenticated.decorator.js';
import type { SessionUser } from '../auth/session-user.js';
import { Broadcasts } from '../notifications/broadcasts.js';
import { BroadcastDto, BroadcastListQueryDto, BroadcastPageDto } from '../notifications/notifications.dto.js';
import { SendBroadcastDto } from '../system/broadcasts.dto.js';
import { BroadcastsService } from '../system/broadcasts.service.js';

@AdminController('broadcasts')
export class AdminBroadcastsController {
  constructor(
    private readonly system: BroadcastsService,
    private readonly broadcasts: Broadcasts,
  ) {}

  @Post()
  @ApiCreatedResponse({
    type: BroadcastDto,
    description: 'The notification (channel system, type system.broadcast): one row for the whole audience',
  })
  @ApiBadRequestResponse({ description: 'Invalid title, body, severity, audience, expiresAt or deliver' })
  send(@CurrentUser() admin: SessionUser, @Body() body: SendBroadcastDto) {
    return this.system.send(admin.id, body);
  }

  @Get()
  @ApiOkResponse({ type: BroadcastPageDto })
  list(@Query() q: BroadcastListQueryDto) {
    return this.broadcasts.list({ limit: q.limit ?? 20, before: q.before });
  }
}
