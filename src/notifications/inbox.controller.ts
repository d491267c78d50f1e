import {
  applyDecorators,
  BadRequestException,
  Body,
  Controller,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  Post,
  Put,
  Query,
} from '@nestjs/common';
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
import { ACTION_ID } from '../events/notification-action.dto.js';
import { InboxService } from './inbox.service.js';
import {
  BulkDto,
  BulkResultDto,
  InboxPageDto,
  InboxQueryDto,
  MarkAllReadDto,
  MarkSeenDto,
  SnoozeDto,
  PreferencesDto,
  UnreadCountDto,
  UpdatePreferencesDto,
} from './notifications.dto.js';
import { PreferencesService } from './preferences.service.js';

/** POST notifications/:id/<path>: 204 when done, 404 for a notification the user may not see. */
function OnNotification(path: string, o: { done?: string; badRequest?: string; notFound?: string } = {}) {
  return applyDecorators(
    Post(`notifications/:id/${path}`),
    HttpCode(204),
    ApiNoContentResponse(o.done === undefined ? undefined : { description: o.done }),
    ...(o.badRequest === undefined ? [] : [ApiBadRequestResponse({ description: o.badRequest })]),
    ApiNotFoundResponse({ description: o.notFound ?? 'Not a notification this user may see' }),
  );
}

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
    return this.inbox.list(user, {
      limit: q.limit ?? 20,
      before: q.before,
      channel: q.channel,
      unread: q.unread,
      status: q.status,
    });
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

  @Post('notifications/seen')
  @HttpCode(204)
  @ApiNoContentResponse()
  markSeen(@CurrentUser() user: SessionUser, @Body() body: MarkSeenDto) {
    return this.inbox.markSeen(user, body.upTo);
  }

  @Post('notifications/bulk')
  @HttpCode(200)
  @ApiOkResponse({ type: BulkResultDto })
  @ApiBadRequestResponse({ description: 'Not exactly one of ids and filter, over 1,000 ids, an unknown action' })
  bulk(@CurrentUser() user: SessionUser, @Body() body: BulkDto) {
    if ((body.ids === undefined) === (body.filter === undefined)) {
      throw new BadRequestException('Give exactly one of ids and filter');
    }
    return this.inbox.bulk(user, { action: body.action, ids: body.ids, filter: body.filter });
  }

  @OnNotification('archive')
  archive(@CurrentUser() user: SessionUser, @IdParam() id: string) {
    return this.inbox.archive(user, id, true);
  }

  @OnNotification('unarchive')
  unarchive(@CurrentUser() user: SessionUser, @IdParam() id: string) {
    return this.inbox.archive(user, id, false);
  }

  @OnNotification('snooze', { badRequest: 'until not 1 minute to 30 days ahead' })
  snooze(@CurrentUser() user: SessionUser, @IdParam() id: string, @Body() body: SnoozeDto) {
    const until = new Date(body.until);
    if (Number.isNaN(until.getTime())) throw new BadRequestException('until must be a real date-time');
    return this.inbox.snooze(user, id, until);
  }

  @OnNotification('unsnooze')
  unsnooze(@CurrentUser() user: SessionUser, @IdParam() id: string) {
    return this.inbox.unsnooze(user, id);
  }

  @OnNotification('actions/:actionId', {
    done: 'Recorded, and the notification is read',
    notFound: 'Not a notification this user may see, or no such action on it',
  })
  act(@CurrentUser() user: SessionUser, @IdParam() id: string, @Param('actionId') actionId: string) {
    if (!ACTION_ID.test(actionId)) throw new NotFoundException('No such action');
    return this.inbox.act(user, id, actionId);
  }

  @OnNotification('read')
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
  @ApiBadRequestResponse({ description: 'Unknown field, malformed time or unknown IANA time zone' })
  updatePreferences(@CurrentUser() user: SessionUser, @Body() body: UpdatePreferencesDto) {
    // The contract's "any subset" includes the empty one: nothing to write, the whole preferences.
    const { channels, delivery, quietHours, locale } = body;
    const empty = [channels, delivery, quietHours, locale].every((v) => v === undefined);
    return empty ? this.preferences.get(user.id) : this.preferences.update(user.id, body);
  }
}
