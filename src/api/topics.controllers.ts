import { applyDecorators, Body, Controller, Delete, Get, HttpCode, Param, Put, Query } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiParam, ApiTags } from '@nestjs/swagger';
import { Authenticated, CurrentUser } from '../auth/authenticated.decorator.js';
import type { SessionUser } from '../auth/session-user.js';
import { ApiKeyAuth } from './api-key.guard.js';
import { SubscriberPageDto, SubscribersDto, SubscribersQueryDto, TopicListDto } from './topics.dto.js';
import { topicKey, TopicsService } from './topics.service.js';

const KEY_PARAM = ApiParam({ name: 'key', example: 'restock.sku-1', description: '1 to 128 of A-Z a-z 0-9 _ . : -' });

/** A change to the topic named by `:key`, answered 204. */
const NoContentByKey = (description: string) =>
  applyDecorators(HttpCode(204), KEY_PARAM, ApiNoContentResponse({ description }));

@ApiTags('api')
@ApiKeyAuth()
@Controller('v1/topics/:key/subscribers')
export class TopicSubscribersController {
  constructor(private readonly topics: TopicsService) {}

  @Put()
  @NoContentByKey('Subscribed (already subscribed users stay as they were)')
  async subscribe(@Param('key') key: string, @Body() body: SubscribersDto): Promise<void> {
    await this.topics.subscribe(topicKey(key), body.userIds);
  }

  @Delete()
  @NoContentByKey('Unsubscribed')
  async unsubscribe(@Param('key') key: string, @Body() body: SubscribersDto): Promise<void> {
    await this.topics.unsubscribe(topicKey(key), body.userIds);
  }

  @Get()
  @KEY_PARAM
  @ApiOkResponse({ type: SubscriberPageDto })
  list(@Param('key') key: string, @Query() q: SubscribersQueryDto) {
    return this.topics.subscribers(topicKey(key), { limit: q.limit ?? 100, after: q.after });
  }
}

@ApiTags('notifications')
@Authenticated()
@Controller('topics')
export class MyTopicsController {
  constructor(private readonly topics: TopicsService) {}

  @Get()
  @ApiOkResponse({ type: TopicListDto, description: 'The topics the signed-in user follows' })
  list(@CurrentUser() user: SessionUser) {
    return this.topics.ofUser(user.id);
  }

  @Delete(':key')
  @NoContentByKey('The signed-in user no longer follows it')
  async leave(@CurrentUser() user: SessionUser, @Param('key') key: string): Promise<void> {
    await this.topics.leave(user.id, topicKey(key));
  }
}
