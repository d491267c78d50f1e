import { PageQueryDto } from '../common/page-query.dto.js';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
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

export const INBOX_STATUSES = [
  'inbox',
  'unread',
  'archived',
  'snoozed',
  'all',
] as const satisfies readonly InboxStatus[];
import {
  CHANNELS,
  type Channel,
  DELIVERY_METHODS,
  type DeliveryMethod,
  type InboxStatus,
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

  @ApiPropertyOptional({ enum: INBOX_STATUSES, default: 'inbox', description: 'inbox: neither archived nor snoozed' })
  @IsOptional()
  @IsIn(INBOX_STATUSES, { message: `status must be one of: ${INBOX_STATUSES.join(', ')}` })
  status?: InboxStatus;
}

const DECIMAL_ID = /^[1-9]\d{0,17}$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

export class MarkSeenDto {
  @ApiProperty({ example: '42', description: 'Every notification with an id up to this one is seen' })
  @IsString()
  @Matches(DECIMAL_ID, { message: 'upTo must be a decimal id' })
  upTo: string;
}

export class SnoozeDto {
  @ApiProperty({ example: '2030-01-01T08:00:00Z', description: 'RFC 3339; 1 minute to 30 days ahead' })
  @IsString()
  @Matches(RFC3339, { message: 'until must be an RFC 3339 date-time such as 2030-01-01T08:00:00Z' })
  until: string;
}

export class BulkFilterDto {
  @ApiPropertyOptional({ enum: CHANNELS })
  @IsOptional()
  @IsIn(CHANNELS)
  channel?: Channel;

  @ApiPropertyOptional({ example: '42', description: 'Only ids below this one' })
  @IsOptional()
  @IsString()
  @Matches(DECIMAL_ID, { message: 'filter.before must be a decimal id' })
  before?: string;
}

export const BULK_ACTIONS = ['read', 'unread', 'archive', 'unarchive'] as const;
export const MAX_BULK_IDS = 1000;

/** Exactly one of `ids` and `filter` (checked by the controller). */
export class BulkDto {
  @ApiProperty({ enum: BULK_ACTIONS })
  @IsIn(BULK_ACTIONS, { message: `action must be one of: ${BULK_ACTIONS.join(', ')}` })
  action: (typeof BULK_ACTIONS)[number];

  @ApiPropertyOptional({ type: [String], maxItems: MAX_BULK_IDS })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_BULK_IDS)
  @Matches(DECIMAL_ID, { each: true, message: 'ids must be decimal notification ids as strings' })
  ids?: string[];

  @ApiPropertyOptional({ type: BulkFilterDto })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => BulkFilterDto)
  filter?: BulkFilterDto;
}

export class BulkResultDto {
  @ApiProperty({ description: 'Notifications whose state changed' }) count: number;
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

/** Any subset of the preferences, the empty one included. */
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

  @ApiPropertyOptional({ example: 'fr-CA', description: 'BCP 47 language tag; an unknown language is 400' })
  @IsOptional()
  @IsString()
  @MaxLength(35)
  locale?: string;

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

  @ApiProperty({ example: 'de', description: "BCP 47; at sign-up from Accept-Language, else 'en'" })
  locale: string;
}

export class NotificationActionDto {
  @ApiProperty({ example: 'track' }) id: string;
  @ApiProperty({ example: 'Track it', minLength: 1, maxLength: 40 }) label: string;
  @ApiPropertyOptional({ example: 'https://shop.example/orders/1001', description: 'http(s) only' }) url?: string;
  @ApiProperty({ enum: ['primary', 'secondary'] }) style: 'primary' | 'secondary';
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
  @ApiProperty({ nullable: true, type: String }) seenAt: string | null;
  @ApiProperty({ nullable: true, type: String }) archivedAt: string | null;
  @ApiProperty({ nullable: true, type: String }) snoozedUntil: string | null;
  @ApiProperty({ type: [NotificationActionDto] }) actions: NotificationActionDto[];
}

export class InboxPageDto {
  @ApiProperty({ type: [NotificationDto] }) items: NotificationDto[];
  @ApiProperty({ nullable: true, type: String }) nextBefore: string | null;
}

export class UnreadCountDto {
  @ApiProperty() total: number;
  @ApiProperty({ example: perKey(CHANNELS, () => 0) }) byChannel: Record<Channel, number>;
  @ApiProperty({ description: 'In the inbox and not seen yet, read or not' }) unseen: number;
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
