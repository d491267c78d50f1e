import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { DELIVERY_METHODS } from '../../client/registry.js';
import { PageQueryDto } from '../common/page-query.dto.js';

export class DeliveryDto {
  @ApiProperty({ enum: DELIVERY_METHODS }) method: string;
  @ApiProperty({ enum: ['scheduled', 'sent', 'failed', 'cancelled'] }) status: string;
  @ApiProperty() attempts: number;
  @ApiProperty({ nullable: true, type: String }) sentAt: string | null;
  @ApiProperty({ nullable: true, type: String }) error: string | null;
}

export class AdminDeliveryDto extends DeliveryDto {
  @ApiProperty() id: string;
  @ApiProperty() notificationId: string;
  @ApiProperty() userId: string;
}

export class AdminDeliveryPageDto {
  @ApiProperty({ type: [AdminDeliveryDto] }) items: AdminDeliveryDto[];
  @ApiProperty({ nullable: true, type: String }) nextBefore: string | null;
}

export class AdminDeliveriesQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: ['scheduled', 'sent', 'failed', 'cancelled'] })
  @IsOptional()
  @IsIn(['scheduled', 'sent', 'failed', 'cancelled'])
  status?: 'scheduled' | 'sent' | 'failed' | 'cancelled';
}
