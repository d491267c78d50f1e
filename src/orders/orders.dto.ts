import { PageQueryDto } from '../common/page-query.dto.js';
import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsString,
  Length,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { ADMIN_TARGET_STATUSES, type AdminTargetStatus, ORDER_STATUSES, type OrderStatus } from './order-status.js';

/**
 * Bounds that keep every total exact: 100 lines × 10,000 × 10^9 minor units is
 * 10^15, below 2^53, so totals are exact both in bigint columns and as JSON numbers.
 */
export const MAX_ITEMS = 100;
export const MAX_QUANTITY = 10_000;
export const MAX_UNIT_PRICE = 1_000_000_000;

export class OrderItemInputDto {
  @ApiProperty({ minLength: 1, maxLength: 100, example: 'TEE-RED-M' })
  @IsString()
  @Length(1, 100, { message: 'sku must be 1 to 100 characters' })
  sku: string;

  @ApiProperty({ minimum: 1, maximum: MAX_QUANTITY, example: 2 })
  @IsInt()
  @Min(1)
  @Max(MAX_QUANTITY)
  quantity: number;

  @ApiProperty({ minimum: 0, maximum: MAX_UNIT_PRICE, example: 1999, description: 'Integer minor units (cents)' })
  @IsInt({ message: 'unitPrice must be an integer number of minor units' })
  @Min(0)
  @Max(MAX_UNIT_PRICE)
  unitPrice: number;
}

export class PlaceOrderDto {
  @ApiProperty({ type: [OrderItemInputDto], minItems: 1, maxItems: MAX_ITEMS })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_ITEMS)
  @ValidateNested({ each: true })
  @Type(() => OrderItemInputDto)
  items: OrderItemInputDto[];
}

export class OrderListQueryDto extends PageQueryDto {}

export class ChangeOrderStatusDto {
  @ApiProperty({ enum: ADMIN_TARGET_STATUSES })
  @IsIn(ADMIN_TARGET_STATUSES, { message: `status must be one of: ${ADMIN_TARGET_STATUSES.join(', ')}` })
  status: AdminTargetStatus;
}

export class OrderItemDto {
  @ApiProperty() sku: string;
  @ApiProperty() quantity: number;
  @ApiProperty({ description: 'Minor units' }) unitPrice: number;
  @ApiProperty({ description: 'quantity × unitPrice, minor units' }) lineTotal: number;
}

export class OrderDto {
  @ApiProperty({ example: '1001' }) id: string;
  @ApiProperty({ enum: ORDER_STATUSES }) status: OrderStatus;
  @ApiProperty({ type: [OrderItemDto] }) items: OrderItemDto[];
  @ApiProperty({ description: 'Computed by the server, minor units' }) total: number;
  @ApiProperty() createdAt: string;
  @ApiProperty() updatedAt: string;
}

export class OrderPageDto {
  @ApiProperty({ type: [OrderDto], description: 'Newest first' }) items: OrderDto[];
  @ApiProperty({ nullable: true, type: String }) nextBefore: string | null;
}
