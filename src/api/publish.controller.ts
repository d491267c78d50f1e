import { Body, Controller, Post } from '@nestjs/common';
import { ApiBadRequestResponse, ApiCreatedResponse, ApiTags } from '@nestjs/swagger';
import { ApiKeyAuth } from './api-key.guard.js';
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
  publish(@Body() body: PublishDto) {
    return this.publishing.publish(body);
  }
}
