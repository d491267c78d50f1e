import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsDefined, IsIn, IsInt, IsObject, IsOptional, Matches, Max, Min, ValidateNested } from 'class-validator';
import { CHANNELS, type Channel, SEVERITIES, type Severity } from './notification.types.js';

export class InboxQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'limit must be an integer from 1 to 100' })
  @Min(1, { message: 'limit must be an integer from 1 to 100' })
  @Max(100, { message: 'limit must be an integer from 1 to 100' })
  limit?: number;

  @ApiPropertyOptional({ description: 'Only notifications with a smaller id (the previous page\'s nextBefore)' })
  @IsOptional()
  @Matches(/^\d{1,18}$/, { message: 'before must be a decimal id' })
  before?: string;

  @ApiPropertyOptional({ enum: CHANNELS })
  @IsOptional()
  @IsIn(CHANNELS)
  channel?: Channel;

  @ApiPropertyOptional({ type: Boolean })
  @IsOptional()
  @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean({ message: 'unread must be true or false' })
  unread?: boolean;
}

export class MarkAllReadDto {
  @ApiPropertyOptional({ enum: CHANNELS })
  @IsOptional()
  @IsIn(CHANNELS)
  channel?: Channel;
}

export class ChannelTogglesDto {
  @ApiPropertyOptional() @IsOptional() @IsBoolean() order?: boolean;
  @ApiPropertyOptional() @IsOptional() @IsBoolean() payment?: boolean;
  @ApiPropertyOptional() @IsOptional() @IsBoolean() system?: boolean;
}

export class UpdatePreferencesDto {
  @ApiProperty({ type: ChannelTogglesDto })
  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => ChannelTogglesDto)
  channels: ChannelTogglesDto;
}

export class PreferencesDto {
  @ApiProperty({ example: { order: true, payment: true, system: true } })
  channels: Record<Channel, boolean>;
}

export class NotificationDto {
  @ApiProperty({ example: '42' }) id: string;
  @ApiProperty({ enum: CHANNELS }) channel: Channel;
  @ApiProperty({ example: 'order.shipped' }) type: string;
  @ApiProperty({ enum: SEVERITIES }) severity: Severity;
  @ApiProperty() title: string;
  @ApiProperty() body: string;
  @ApiProperty({ type: 'object', additionalProperties: true }) data: Record<string, unknown>;
  @ApiProperty() createdAt: string;
  @ApiProperty({ nullable: true, type: String }) readAt: string | null;
}

export class InboxPageDto {
  @ApiProperty({ type: [NotificationDto] }) items: NotificationDto[];
  @ApiProperty({ nullable: true, type: String }) nextBefore: string | null;
}

export class UnreadCountDto {
  @ApiProperty() total: number;
  @ApiProperty({ example: { order: 0, payment: 0, system: 0 } }) byChannel: Record<Channel, number>;
}
