import { PageQueryDto } from '../common/page-query.dto.js';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsDefined, IsIn, IsObject, IsOptional, ValidateNested } from 'class-validator';
import { CHANNELS, type Channel, SEVERITIES, type Severity } from './notification.types.js';

export class InboxQueryDto extends PageQueryDto {
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
