import { Body, Controller, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { Authenticated, CurrentUser } from '../auth/authenticated.decorator.js';
import type { SessionUser } from '../auth/session-user.js';
import { IdParam } from '../common/id-param.js';
import { CreatePaymentDto, PaymentDto } from './payments.dto.js';
import { PaymentsService } from './payments.service.js';

@ApiTags('payments')
@Authenticated()
@Controller('orders/:id/payments')
export class PaymentsController {
  constructor(private readonly payments: PaymentsService) {}

  @Post()
  @ApiParam({ name: 'id', description: 'Order id' })
  @ApiCreatedResponse({ type: PaymentDto, description: 'Pending; the owner is notified (payment.pending)' })
  @ApiBadRequestResponse({ description: "amount is not the order's total" })
  @ApiNotFoundResponse({ description: "No such order, or another user's" })
  @ApiConflictResponse({ description: 'The order is not placed, or already has a pending payment' })
  create(@CurrentUser() user: SessionUser, @IdParam() orderId: string, @Body() body: CreatePaymentDto) {
    return this.payments.create(user.id, orderId, body.amount);
  }
}
