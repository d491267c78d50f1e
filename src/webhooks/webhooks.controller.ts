import { Body, Delete, Get, HttpCode, Patch, Post, Query } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
} from '@nestjs/swagger';
import { AdminController } from '../auth/authenticated.decorator.js';
import { IdParam } from '../common/id-param.js';
import {
  AttemptsQueryDto,
  CreatedWebhookDto,
  CreateWebhookDto,
  MessageListDto,
  RecoverDto,
  RecoveredDto,
  UpdateWebhookDto,
  WebhookDto,
  WebhookListDto,
  WebhookSecretDto,
} from './webhooks.dto.js';
import { WebhooksService } from './webhooks.service.js';

const URL_RULES = 'url not https to a public address (nor an origin of WEBHOOK_URL_ALLOWLIST), or unknown events';

@AdminController('webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post()
  @ApiCreatedResponse({ type: CreatedWebhookDto, description: 'The secret is shown only here' })
  @ApiBadRequestResponse({ description: URL_RULES })
  create(@Body() body: CreateWebhookDto) {
    return this.webhooks.create(body);
  }

  @Get()
  @ApiOkResponse({ type: WebhookListDto, description: 'Without secrets' })
  list() {
    return this.webhooks.list();
  }

  @Patch(':id')
  @ApiOkResponse({ type: WebhookDto })
  @ApiBadRequestResponse({ description: URL_RULES })
  @ApiNotFoundResponse()
  update(@IdParam() id: string, @Body() body: UpdateWebhookDto) {
    return this.webhooks.update(id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse()
  @ApiNotFoundResponse()
  async remove(@IdParam() id: string) {
    await this.webhooks.remove(id);
  }

  @Post(':id/rotate-secret')
  @HttpCode(200)
  @ApiOkResponse({ type: WebhookSecretDto, description: 'For 24 hours both secrets sign every message' })
  @ApiNotFoundResponse()
  rotate(@IdParam() id: string) {
    return this.webhooks.rotateSecret(id);
  }

  @Get(':id/attempts')
  @ApiOkResponse({ type: MessageListDto, description: "The webhook's messages, newest first, and how each stands" })
  @ApiNotFoundResponse()
  attempts(@IdParam() id: string, @Query() q: AttemptsQueryDto) {
    return this.webhooks.messages(id, { status: q.status, limit: q.limit ?? 100 });
  }

  @Post(':id/recover')
  @HttpCode(202)
  @ApiAcceptedResponse({ type: RecoveredDto, description: 'Its failed messages since then are sent again' })
  @ApiBadRequestResponse({ description: 'since is not an RFC 3339 date-time' })
  @ApiNotFoundResponse()
  recover(@IdParam() id: string, @Body() body: RecoverDto) {
    return this.webhooks.recover(id, body.since);
  }
}
