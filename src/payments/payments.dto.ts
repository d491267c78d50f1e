import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsInt, Max, Min } from 'class-validator';

export const PAYMENT_STATUSES = ['pending', 'succeeded', 'failed'] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];
export const SETTLE_OUTCOMES = ['succeeded', 'failed'] as const;
export type SettleOutcome = (typeof SETTLE_OUTCOMES)[number];

export class CreatePaymentDto {
  @ApiProperty({ description: "Integer minor units; must equal the order's total", example: 3998 })
  @IsInt({ message: 'amount must be an integer number of minor units' })
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  amount: number;
}

export class SettlePaymentDto {
  @ApiProperty({ enum: SETTLE_OUTCOMES })
  @IsIn(SETTLE_OUTCOMES, { message: `outcome must be one of: ${SETTLE_OUTCOMES.join(', ')}` })
  outcome: SettleOutcome;
}

export class PaymentDto {
  @ApiProperty({ example: '1' }) id: string;
  @ApiProperty({ example: '1001' }) orderId: string;
  @ApiProperty({ description: 'Minor units' }) amount: number;
  @ApiProperty({ enum: PAYMENT_STATUSES }) status: PaymentStatus;
  @ApiProperty() createdAt: string;
  @ApiProperty({ nullable: true, type: String }) settledAt: string | null;
}
