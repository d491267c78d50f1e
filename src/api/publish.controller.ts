import { Body, Controller, Headers, Post, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiHeader,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { ApiKeyAuth, CurrentApiCaller } from './api-key.guard.js';
import type { ApiCaller } from './api-keys.service.js';
import { idempotencyKey } from './idempotency.js';
import { PublishDto, PublishedDto } from './publish.dto.js';
import { PublishService } from './publish.service.js';

@ApiTags('api')
@ApiKeyAuth()
@Controller('v1/notifications')
export class PublishController {
  constructor(private readonly publishing: PublishService) {}

  @Post()
  @ApiCreatedResponse({
    type: PublishedDto,
    description: 'One notification per known recipient, in the order given; unknown ones in `skipped`',
  })
  @ApiBadRequestResponse({ description: 'Invalid recipients, channel, type, severity, title, body or data' })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      '1 to 255 printable ASCII characters. The same key with the same body within 24 hours answers the first answer again (Idempotent-Replayed: true) and writes nothing',
  })
  @ApiConflictResponse({ description: 'A request with this Idempotency-Key is still in progress' })
  @ApiUnprocessableEntityResponse({ description: 'This Idempotency-Key was used with a different body' })
  async publish(
    @CurrentApiCaller() caller: ApiCaller,
    @Body() body: PublishDto,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<unknown> {
    const answer = await this.publishing.publish(caller, body, idempotencyKey(key));
    if (answer.replayed) res.setHeader('Idempotent-Replayed', 'true');
    res.status(answer.status);
    return answer.body;
  }
}
