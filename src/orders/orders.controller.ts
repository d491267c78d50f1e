import { Body, Controller, Get, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Authenticated, CurrentUser } from '../auth/authenticated.decorator.js';
import type { SessionUser } from '../auth/session-user.js';
import { IdParam } from '../common/id-param.js';
import { OrderDto, OrderListQueryDto, OrderPageDto, PlaceOrderDto } from './orders.dto.js';
import { OrdersService } from './orders.service.js';

@ApiTags('orders')
@Authenticated()
@Controller('orders')
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  @Post()
  @ApiCreatedResponse({ type: OrderDto, description: 'Placed; the owner is notified (order.placed)' })
  place(@CurrentUser() user: SessionUser, @Body() body: PlaceOrderDto) {
    return this.orders.place(user.id, body.items);
  }

  @Get()
  @ApiOkResponse({ type: OrderPageDto, description: "The signed-in user's orders, newest first" })
  list(@CurrentUser() user: SessionUser, @Query() q: OrderListQueryDto) {
    return this.orders.list(user.id, { limit: q.limit ?? 20, before: q.before });
  }

  @Get(':id')
  @ApiOkResponse({ type: OrderDto })
  @ApiNotFoundResponse({ description: "No such order, or another user's" })
  get(@CurrentUser() user: SessionUser, @IdParam() id: string) {
    return this.orders.get(user.id, id);
  }
}
