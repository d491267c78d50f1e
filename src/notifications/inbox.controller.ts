import { BadRequestException, Body, Controller, Get, HttpCode, Post, Put, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import { Authenticated, CurrentUser } from '../auth/authenticated.decorator.js';
import type { SessionUser } from '../auth/session-user.js';
import { IdParam } from '../common/id-param.js';
import { InboxService } from './inbox.service.js';
import {
  InboxPageDto,
  InboxQueryDto,
  MarkAllReadDto,
  PreferencesDto,
  UnreadCountDto,
  UpdatePreferencesDto,
} from './notifications.dto.js';
import { PreferencesService } from './preferences.service.js';

@ApiTags('notifications')
@Authenticated()
@Controller()
export class InboxController {
  constructor(
    private readonly inbox: InboxService,
    private readonly preferences: PreferencesService,
  ) {}

  @Get('notifications')
  @ApiOkResponse({ type: InboxPageDto, description: 'Newest first' })
  list(@CurrentUser() user: SessionUser, @Query() q: InboxQueryDto) {
    return this.inbox.list(user, { limit: q.limit ?? 20, before: q.before, channel: q.channel, unread: q.unread });
  }

  @Get('notifications/unread-count')
  @ApiOkResponse({ type: UnreadCountDto })
  unreadCount(@CurrentUser() user: SessionUser) {
    return this.inbox.unreadCount(user);
  }

  @Post('notifications/read-all')
  @HttpCode(204)
  @ApiNoContentResponse()
  markAllRead(@CurrentUser() user: SessionUser, @Body() body: MarkAllReadDto) {
    return this.inbox.markAllRead(user, body.channel);
  }

  @Post('notifications/:id/read')
  @HttpCode(204)
  @ApiNoContentResponse()
  @ApiNotFoundResponse({ description: 'Not a notification this user may see' })
  markRead(@CurrentUser() user: SessionUser, @IdParam() id: string) {
    return this.inbox.markRead(user, id);
  }

  @Get('preferences')
  @ApiOkResponse({ type: PreferencesDto })
  getPreferences(@CurrentUser() user: SessionUser) {
    return this.preferences.get(user.id);
  }

  @Put('preferences')
  @ApiOkResponse({ type: PreferencesDto })
  @ApiBadRequestResponse({ description: 'Unknown field, malformed time, unknown IANA time zone, or nothing to change' })
  updatePreferences(@CurrentUser() user: SessionUser, @Body() body: UpdatePreferencesDto) {
    if (body.channels === undefined && body.delivery === undefined && body.quietHours === undefined) {
      throw new BadRequestException('Give channels, delivery or quietHours');
    }
    return this.preferences.update(user.id, body);
  }
}
