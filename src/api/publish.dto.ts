import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  ValidateNested,
} from 'class-validator';
import { CHANNELS, type Channel, DELIVERY_METHODS, type DeliveryMethod } from '../../client/registry.js';
import type { Severity } from '../../client/wire.js';
import * as draft from '../events/draft-properties.js';
import { MAX_ACTIONS, type NotificationActionDto } from '../events/notification-action.dto.js';
import { TranslationsProperty } from '../events/translations.dto.js';

/** Recipients of one POST /v1/notifications, and user ids of one topic request. */
export const MAX_RECIPIENTS = 1000;
export const TYPE_PATTERN = /^[a-z][a-z0-9_.-]{0,63}$/;
/** A topic's key: what other services name it by ("restock.sku-1"). */
export const TOPIC_KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
export const TOPIC_KEY_MESSAGE =
  'a topic key is 1 to 128 letters, digits, "_", ".", ":" or "-", starting with a letter or digit';
const USER_ID = /^[1-9]\d{0,17}$/;
const TITLE_MESSAGE = 'title must be 1 to 200 characters';
const BODY_MESSAGE = 'body must be a string of at most 10,000 characters';

/** Exactly one of userIds, emails or topic (checked by PublishService, which says which rule failed). */
export class RecipientsDto {
  @ApiPropertyOptional({ type: [String], maxItems: MAX_RECIPIENTS, example: ['7', '8'] })
  @IsOptional()
  @IsArray({ message: 'to.userIds must be an array' })
  @ArrayMinSize(1, { message: 'to.userIds must not be empty' })
  @ArrayMaxSize(MAX_RECIPIENTS, { message: `to.userIds may list at most ${MAX_RECIPIENTS} users` })
  @Matches(USER_ID, { each: true, message: 'to.userIds must be decimal user ids as strings' })
  userIds?: string[];

  @ApiPropertyOptional({ type: [String], maxItems: MAX_RECIPIENTS, example: ['ada@example.com'] })
  @IsOptional()
  @IsArray({ message: 'to.emails must be an array' })
  @ArrayMinSize(1, { message: 'to.emails must not be empty' })
  @ArrayMaxSize(MAX_RECIPIENTS, { message: `to.emails may list at most ${MAX_RECIPIENTS} addresses` })
  @IsString({ each: true, message: 'to.emails must be strings' })
  @Matches(/^[^\s@]{1,200}@[^\s@]{1,200}$/, { each: true, message: 'to.emails must be email addresses' })
  emails?: string[];

  @ApiPropertyOptional({ example: 'restock.sku-1', description: 'One notification to its subscribers of now' })
  @IsOptional()
  @IsString({ message: TOPIC_KEY_MESSAGE })
  @Matches(TOPIC_KEY_PATTERN, { message: TOPIC_KEY_MESSAGE })
  topic?: string;
}

export class PublishDto {
  @ApiProperty({ type: RecipientsDto, description: 'Exactly one of userIds, emails or topic' })
  @IsObject({ message: 'to must be an object with userIds, emails or topic' })
  @ValidateNested()
  @Type(() => RecipientsDto)
  to: RecipientsDto;

  @ApiProperty({ enum: CHANNELS })
  @IsIn(CHANNELS, { message: `channel must be one of: ${CHANNELS.join(', ')}` })
  channel: Channel;

  @ApiPropertyOptional({ example: 'order.restocked', description: 'Default: `<channel>.message`' })
  @IsOptional()
  @IsString({ message: 'type must match ^[a-z][a-z0-9_.-]{0,63}$' })
  @Matches(TYPE_PATTERN, { message: 'type must match ^[a-z][a-z0-9_.-]{0,63}$' })
  type?: string;

  @draft.Severity()
  severity?: Severity;

  @draft.Title({ example: 'Back in stock', message: TITLE_MESSAGE, notString: TITLE_MESSAGE })
  title: string;

  @draft.Body({ example: 'The blue kettle is back.', message: BODY_MESSAGE, notString: BODY_MESSAGE })
  body: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, example: { sku: 'sku-1' } })
  @IsOptional()
  @IsObject({ message: 'data must be an object' })
  data?: Record<string, unknown>;

  @draft.Actions({ tooMany: `actions may list at most ${MAX_ACTIONS}` })
  actions?: NotificationActionDto[];

  @draft.Deliver({
    notOne: `deliver must list only: ${DELIVERY_METHODS.join(', ')}`,
    description:
      "A topic notification's methods beyond in-app, to subscribers without an open stream; personal ones follow each user's preferences",
  })
  deliver?: DeliveryMethod[];

  @TranslationsProperty()
  translations?: Record<string, { title: string; body: string }>;
}

export class PublishedDto {
  @ApiProperty({ type: [String], description: 'In the order the recipients were given' }) ids: string[];
  @ApiProperty({ type: [String], description: 'Recipients given that are no (enabled) user' }) skipped: string[];
}
