import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsOptional,
  IsString,
  Length,
  MaxLength,
  ValidateNested,
} from 'class-validator';
import { DELIVERY_METHODS } from '../../client/registry.js';
import { SEVERITIES } from './domain-events.js';
import { MAX_ACTIONS, NotificationActionDto } from './notification-action.dto.js';

/*
 * Request-body properties of a notification as publishers give it (broadcasts, API publishes),
 * used as `@draft.Title(…)` with `import * as draft`:
 * one rule each; the 400 wording stays each route's own (the two routes' messages already differ,
 * and clients may match on them).
 * Validators are listed as they would stand bottom to top over the property, so that a body
 * breaking several rules gets its messages in the same order as before.
 */

/** 1 to 200 characters. `notString`: the message for a non-string (the validator's own without it). */
export function Title(options: { example: string; message: string; notString?: string }) {
  return applyDecorators(
    Length(1, 200, { message: options.message }),
    IsString(options.notString === undefined ? undefined : { message: options.notString }),
    ApiProperty({ minLength: 1, maxLength: 200, example: options.example }),
  );
}

/** At most 10,000 characters. */
export function Body(options: { example: string; message: string; notString?: string }) {
  return applyDecorators(
    MaxLength(10_000, { message: options.message }),
    IsString(options.notString === undefined ? undefined : { message: options.notString }),
    ApiProperty({ maxLength: 10_000, example: options.example }),
  );
}

export function Severity() {
  return applyDecorators(
    IsIn(SEVERITIES, { message: `severity must be one of: ${SEVERITIES.join(', ')}` }),
    IsOptional(),
    ApiPropertyOptional({ enum: SEVERITIES, default: 'info' }),
  );
}

/** At most MAX_ACTIONS buttons, with different ids. */
export function Actions(options: { tooMany: string; description?: string }) {
  return applyDecorators(
    Type(() => NotificationActionDto),
    ValidateNested({ each: true }),
    ArrayUnique((a: NotificationActionDto) => a?.id, { message: 'actions need different ids' }),
    ArrayMaxSize(MAX_ACTIONS, { message: options.tooMany }),
    IsArray({ message: 'actions must be an array' }),
    IsOptional(),
    ApiPropertyOptional({
      type: [NotificationActionDto],
      maxItems: MAX_ACTIONS,
      ...(options.description === undefined ? {} : { description: options.description }),
    }),
  );
}

/** Methods beyond in-app, each one of DELIVERY_METHODS. */
export function Deliver(options: { notOne: string; description: string }) {
  return applyDecorators(
    IsIn(DELIVERY_METHODS, { each: true, message: options.notOne }),
    ArrayMaxSize(DELIVERY_METHODS.length),
    IsArray({ message: 'deliver must be an array' }),
    IsOptional(),
    ApiPropertyOptional({ type: [String], enum: DELIVERY_METHODS, description: options.description }),
  );
}
