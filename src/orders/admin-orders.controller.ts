import { Body, HttpCode, Post } from '@nestjs/common';
import { ApiConflictResponse, ApiNotFoundResponse, ApiOkResponse } from '@nestjs/swagger';
import { AdminController, CurrentUser } from '../auth/authenticated.decorator.js';
import type { SessionUser } from '../auth/session-user.js';
import { IdParam } from '../common/id-param.js';
import { ChangeOrderStatusDto, OrderDto } from './orders.dto.js';
import { OrdersService } from './orders.service.js';

@AdminController('orders')
export class AdminOrdersController {
  constructor(private readonly orders: OrdersService) {}

  @Post(':id/status')
  @HttpCode(200)
  @ApiOkResponse({
    type: OrderDto,
    description: 'Moved; the owner is notified (order.shipped / delivered / cancelled)',
  })
  @ApiNotFoundResponse({ description: 'No such order' })
  @ApiConflictResponse({ description: 'The state machine forbids this transition (nothing was written)' })
  changeStatus(@CurrentUser() admin: SessionUser, @IdParam() id: string, @Body() body: ChangeOrderStatusDto) {
    return this.orders.changeStatus(id, body.status, admin.id);
  }
}
