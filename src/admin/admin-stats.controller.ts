import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { AdminStats } from '../../client/wire.js';
import { Authenticated } from '../auth/authenticated.decorator.js';
import { StreamHub } from '../notifications/stream-hub.js';

@ApiTags('admin')
@Authenticated({ admin: true })
@Controller('admin/stats')
export class AdminStatsController {
  constructor(private readonly hub: StreamHub) {}

  @Get()
  @ApiOkResponse({
    description: '{ streams, users } open on this instance',
    schema: { example: { streams: 3, users: 2 } },
  })
  stats(): AdminStats {
    return { streams: this.hub.size, users: this.hub.userCount };
  }
}
