import { Body, Delete, Get, HttpCode, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiNotFoundResponse, ApiOkResponse } from '@nestjs/swagger';
import { AdminController, CurrentUser } from '../auth/authenticated.decorator.js';
import type { SessionUser } from '../auth/session-user.js';
import { IdParam } from '../common/id-param.js';
import { ApiKeyListDto, CreateApiKeyDto, NewApiKeyDto } from './api-keys.dto.js';
import { ApiKeysService } from './api-keys.service.js';

@AdminController('api-keys')
export class AdminApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  @ApiCreatedResponse({ type: NewApiKeyDto, description: 'The key is in this answer only' })
  create(@CurrentUser() admin: SessionUser, @Body() body: CreateApiKeyDto) {
    return this.keys.create(body.name, admin.id);
  }

  @Get()
  @ApiOkResponse({ type: ApiKeyListDto })
  list() {
    return this.keys.list();
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Revoked: refused (401) from now on, on every instance' })
  @ApiNotFoundResponse({ description: 'No such key' })
  async revoke(@IdParam() id: string): Promise<void> {
    await this.keys.revoke(id);
  }
}
