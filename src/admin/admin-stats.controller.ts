import { Get } from '@nestjs/common';
import { ApiOkResponse } from '@nestjs/swagger';
import type { AdminStats } from '../../client/wire.js';
import { AdminController } from '../auth/authenticated.decorator.js';
import { StreamHub } from '../notifications/stream-hub.js';

@AdminController('stats')
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
