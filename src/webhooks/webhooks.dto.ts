import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
} from 'class-validator';
import { LimitProperty } from '../common/page-query.dto.js';
import { WEBHOOK_EVENTS, type WebhookEvent } from './webhook-events.js';

const EVENTS_MESSAGE = `events must be a non-empty list of distinct events from: ${WEBHOOK_EVENTS.join(', ')}`;
/** An RFC 3339 date-time such as 2030-01-01T00:00:00Z. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

export const MESSAGE_STATUSES = ['pending', 'delivered', 'failed'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

export class CreateWebhookDto {
  @ApiProperty({ example: 'https://hooks.example.com/notifications', maxLength: 2048 })
  @IsString()
  @MaxLength(2048)
  url: string;

  @ApiProperty({ enum: WEBHOOK_EVENTS, isArray: true })
  @IsArray({ message: EVENTS_MESSAGE })
  @ArrayMinSize(1, { message: EVENTS_MESSAGE })
  @ArrayMaxSize(WEBHOOK_EVENTS.length, { message: EVENTS_MESSAGE })
  @ArrayUnique({ message: EVENTS_MESSAGE })
  @IsIn(WEBHOOK_EVENTS, { each: true, message: EVENTS_MESSAGE })
  events: WebhookEvent[];

  @ApiPropertyOptional({ maxLength: 500 })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string;
}

export class UpdateWebhookDto {
  @ApiPropertyOptional({ maxLength: 2048 })
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  url?: string;

  @ApiPropertyOptional({ enum: WEBHOOK_EVENTS, isArray: true })
  @IsOptional()
  @IsArray({ message: EVENTS_MESSAGE })
  @ArrayMinSize(1, { message: EVENTS_MESSAGE })
  @ArrayMaxSize(WEBHOOK_EVENTS.length, { message: EVENTS_MESSAGE })
  @ArrayUnique({ message: EVENTS_MESSAGE })
  @IsIn(WEBHOOK_EVENTS, { each: true, message: EVENTS_MESSAGE })
  events?: WebhookEvent[];

  @ApiPropertyOptional()
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;

  @ApiPropertyOptional({ maxLength: 500, nullable: true, type: String })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string;
}

export class WebhookDto {
  @ApiProperty() id: string;
  @ApiProperty() url: string;
  @ApiProperty({ enum: WEBHOOK_EVENTS, isArray: true }) events: string[];
  @ApiProperty({ nullable: true, type: String }) description: string | null;
  @ApiProperty() enabled: boolean;
  @ApiProperty({ nullable: true, type: String, description: 'Why it was disabled (e.g. the receiver answered 410)' })
  disabledReason: string | null;
  @ApiProperty() createdAt: string;
}

export class CreatedWebhookDto extends WebhookDto {
  @ApiProperty({ description: '`whsec_` + base64 of 32 random bytes: shown only here', example: 'whsec_…' })
  secret: string;
}

export class WebhookListDto {
  @ApiProperty({ type: [WebhookDto] }) items: WebhookDto[];
}

export class WebhookSecretDto {
  @ApiProperty({ description: 'The new secret; the previous one keeps signing for 24 hours' }) secret: string;
}

export class AttemptsQueryDto {
  @ApiPropertyOptional({ enum: MESSAGE_STATUSES })
  @IsOptional()
  @IsIn(MESSAGE_STATUSES, { message: `status must be one of: ${MESSAGE_STATUSES.join(', ')}` })
  status?: MessageStatus;

  @LimitProperty(500, 100)
  limit?: number;
}

export class MessageDto {
  @ApiProperty({ description: 'The webhook-id header: the same on every retry', example: 'msg_…' }) messageId: string;
  @ApiProperty({ enum: WEBHOOK_EVENTS }) event: string;
  @ApiProperty({ enum: MESSAGE_STATUSES }) status: string;
  @ApiProperty() attempts: number;
  @ApiProperty({ nullable: true, type: Number }) lastStatusCode: number | null;
  @ApiProperty({ nullable: true, type: String, description: 'A failure category when no status came back' })
  lastError: string | null;
  @ApiProperty({ nullable: true, type: String }) nextAttemptAt: string | null;
  @ApiProperty() createdAt: string;
}

export class MessageListDto {
  @ApiProperty({ type: [MessageDto], description: 'Newest first' }) items: MessageDto[];
}

export class RecoverDto {
  @ApiProperty({
    example: '2030-01-01T00:00:00Z',
    description: 'Failed messages created at or after this are sent again',
  })
  @IsString()
  @Matches(DATE_TIME, { message: 'since must be an RFC 3339 date-time such as 2030-01-01T00:00:00Z' })
  since: string;
}

export class RecoveredDto {
  @ApiProperty({ description: 'How many failed messages are sent again' }) messages: number;
}
