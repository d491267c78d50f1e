import { Body, HttpCode, Post } from '@nestjs/common';
import { ApiConflictResponse, ApiNotFoundResponse, ApiOkResponse } from '@nestjs/swagger';
import { AdminController } from '../auth/authenticated.decorator.js';
import { IdParam } from '../common/id-param.js';
import { PaymentDto, SettlePaymentDto } from './payments.dto.js';
import { PaymentsService } from './payments.service.js';

/**
 * Stand-in for a payment provider's webhook: the admin reports the outcome.
 * A real webhook controller would verify the provider's signature and call
 * the same PaymentsService.settle.
 */
@AdminController('payments')
export class AdminPaymentsController {
  constructor(private readonly payments: PaymentsService) {}

  @Post(':id/settle')
  @HttpCode(200)
  @ApiOkResponse({
    type: PaymentDto,
    description: 'Settled; the owner is notified (payment.succeeded and order.paid, or payment.failed)',
  })
  @ApiNotFoundResponse({ description: 'No such payment' })
  @ApiConflictResponse({ description: 'Already settled, or the order can no longer be paid (nothing was written)' })
  settle(@IdParam() id: string, @Body() body: SettlePaymentDto) {
    return this.payments.settle(id, body.outcome);
  }
}
