import { PageQueryDto } from '../common/page-query.dto.js';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { dtoPerKey } from '../common/keyed-dto.js';
import { HHMM } from './quiet-hours.js';
import {
  CHANNELS,
  type Channel,
  DELIVERY_METHODS,
  type DeliveryMethod,
  perKey,
  SEVERITIES,
  type Severity,
} from './notification.types.js';

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

const optionalBoolean = () => [ApiPropertyOptional({ type: Boolean }), IsOptional(), IsBoolean()];

export const ChannelTogglesDto = dtoPerKey<Channel, boolean>('ChannelTogglesDto', CHANNELS, optionalBoolean);

export const MethodTogglesDto = dtoPerKey<DeliveryMethod, boolean>(
  'MethodTogglesDto',
  DELIVERY_METHODS,
  optionalBoolean,
);

export const DeliveryTogglesDto = dtoPerKey<Channel, Partial<Record<DeliveryMethod, boolean>>>(
  'DeliveryTogglesDto',
  CHANNELS,
  () => [
    ApiPropertyOptional({ type: MethodTogglesDto }),
    IsOptional(),
    IsObject(),
    ValidateNested(),
    Type(() => MethodTogglesDto),
  ],
);

export class QuietHoursDto {
  @ApiProperty({ example: '22:00', description: 'HH:MM, 24-hour, in timeZone' })
  @IsString()
  @Matches(HHMM, { message: 'quietHours.start must be HH:MM (00:00 to 23:59)' })
  start: string;

  @ApiProperty({ example: '07:00', description: 'HH:MM; before start means the next day' })
  @IsString()
  @Matches(HHMM, { message: 'quietHours.end must be HH:MM (00:00 to 23:59)' })
  end: string;

  @ApiProperty({ example: 'Europe/Berlin', description: 'IANA time zone' })
  @IsString()
  @MaxLength(64)
  timeZone: string;
}

/** Any subset of the preferences; at least one field. */
export class UpdatePreferencesDto {
  @ApiPropertyOptional({ type: ChannelTogglesDto, description: 'false mutes the channel (critical still comes)' })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => ChannelTogglesDto)
  channels?: Partial<Record<Channel, boolean>>;

  @ApiPropertyOptional({ type: DeliveryTogglesDto, description: 'per channel, which methods may send' })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => DeliveryTogglesDto)
  delivery?: Partial<Record<Channel, Partial<Record<DeliveryMethod, boolean>>>>;

  @ApiPropertyOptional({ type: QuietHoursDto, nullable: true, description: 'null removes the quiet hours' })
  @ValidateIf((o: UpdatePreferencesDto) => o.quietHours !== undefined && o.quietHours !== null)
  @IsObject()
  @ValidateNested()
  @Type(() => QuietHoursDto)
  quietHours?: QuietHoursDto | null;
}

export class PreferencesDto {
  @ApiProperty({ example: perKey(CHANNELS, () => true) })
  channels: Record<Channel, boolean>;

  @ApiProperty({ example: perKey(CHANNELS, () => perKey(DELIVERY_METHODS, () => true)) })
  delivery: Record<Channel, Record<DeliveryMethod, boolean>>;

  @ApiProperty({ type: QuietHoursDto, nullable: true })
  quietHours: QuietHoursDto | null;
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
  @ApiProperty({ example: perKey(CHANNELS, () => 0) }) byChannel: Record<Channel, number>;
}

export class BroadcastListQueryDto extends PageQueryDto {}

/** A broadcast as POST and GET /admin/broadcasts show it. */
export class BroadcastDto extends NotificationDto {
  @ApiProperty({
    description: '{ kind: "all" } | { kind: "role", role } | { kind: "users", userIds }',
    example: { kind: 'role', role: 'admin' },
  })
  audience: Record<string, unknown>;

  @ApiProperty({ nullable: true, type: String }) expiresAt: string | null;
}

export class BroadcastPageDto {
  @ApiProperty({ type: [BroadcastDto], description: 'Newest first, expired ones included' }) items: BroadcastDto[];
  @ApiProperty({ nullable: true, type: String }) nextBefore: string | null;
}
