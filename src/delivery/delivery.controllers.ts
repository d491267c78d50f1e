import { Controller, Get, NotFoundException, Query } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { AdminController, Authenticated, CurrentUser } from '../auth/authenticated.decorator.js';
import type { SessionUser } from '../auth/session-user.js';
import { IdParam } from '../common/id-param.js';
import { AdminDeliveriesQueryDto, AdminDeliveryPageDto, DeliveryDto } from './delivery.dto.js';
import { DeliveryLog } from './delivery-log.js';

@ApiTags('notifications')
@Authenticated()
@Controller('notifications')
export class DeliveriesController {
  constructor(private readonly log: DeliveryLog) {}

  @Get(':id/deliveries')
  @ApiOkResponse({ type: [DeliveryDto], description: 'How it went out by push and email to this user' })
  @ApiNotFoundResponse({ description: 'Not a notification this user may see' })
  async list(@CurrentUser() user: SessionUser, @IdParam() id: string) {
    const items = await this.log.ofNotification(user, id);
    if (!items) throw new NotFoundException('Notification not found');
    return items;
  }
}

@AdminController('deliveries')
export class AdminDeliveriesController {
  constructor(private readonly log: DeliveryLog) {}

  @Get()
  @ApiOkResponse({ type: AdminDeliveryPageDto, description: 'Newest first' })
  list(@Query() q: AdminDeliveriesQueryDto) {
    return this.log.list({ status: q.status, limit: q.limit ?? 20, before: q.before });
  }
}
