import { Body, Controller, Delete, HttpCode, NotFoundException, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiTags,
} from '@nestjs/swagger';
import { Authenticated, CurrentUser } from '../../auth/authenticated.decorator.js';
import type { SessionUser } from '../../auth/session-user.js';
import { IdParam } from '../../common/id-param.js';
import { ChatDestinations } from '../../delivery/methods/chat/chat-destinations.js';
import { AddChatDestinationDto, ChatDestinationDto } from './chat.dto.js';

@ApiTags('contacts')
@Authenticated()
@Controller('contacts/chat')
export class ChatDestinationsController {
  constructor(private readonly destinations: ChatDestinations) {}

  @Post()
  @HttpCode(201)
  @ApiCreatedResponse({ type: ChatDestinationDto, description: 'Stored once the destination accepted a test message' })
  @ApiBadRequestResponse({
    description: 'URL outside CHAT_WEBHOOK_ALLOWLIST, the destination refused the test message, or 5 already',
  })
  add(@CurrentUser() user: SessionUser, @Body() body: AddChatDestinationDto) {
    return this.destinations.add(user.id, body.kind, body.url, body.label);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Removed' })
  @ApiNotFoundResponse({ description: 'Not a destination of this user' })
  async remove(@CurrentUser() user: SessionUser, @IdParam() id: string): Promise<void> {
    if (!(await this.destinations.remove(user.id, id))) throw new NotFoundException('Chat destination not found');
  }
}
