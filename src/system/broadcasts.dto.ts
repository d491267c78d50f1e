import { ApiPropertyOptional } from '@nestjs/swagger';
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
  ValidateBy,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import type { Severity } from '../../client/wire.js';
import * as draft from '../events/draft-properties.js';
import { MAX_ACTIONS, type NotificationActionDto } from '../events/notification-action.dto.js';
import { TranslationsProperty } from '../events/translations.dto.js';
import { ROLES, type Role } from '../users/user.entity.js';
import { DELIVERY_METHODS, type DeliveryMethod } from '../../client/registry.js';

export const MAX_AUDIENCE_USER_IDS = 10_000;

/** "push and/or email", "push, email and/or sms". */
const andOr = (names: readonly string[]) => `${names.slice(0, -1).join(', ')} and/or ${names[names.length - 1]}`;

/**
 * RFC 3339 date-times only (`2030-01-01T00:00:00Z`, `…T01:00:00.5+01:00`): ISO 8601's
 * other forms (ordinal `2030-001`, week dates, no time zone) are 400 (issue 13).
 */
const RFC3339_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-](\d{2}):(\d{2}))$/;
const RFC3339_MESSAGE = 'expiresAt must be an RFC 3339 date-time such as 2030-01-01T00:00:00Z';

/** The fields of an RFC 3339 date-time are in range (no 30 February, no 24:00, no leap second). */
function IsRealDateTime(options: { message: string }) {
  return ValidateBy(
    {
      name: 'isRealDateTime',
      validator: {
        validate: (value: unknown) => {
          const m = typeof value === 'string' ? RFC3339_DATE_TIME.exec(value) : null;
          if (!m) return false;
          const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
          const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
          const zoneOk = m[9] === undefined || (Number(m[9]) < 24 && Number(m[10]) < 60);
          return (
            month >= 1 &&
            month <= 12 &&
            day >= 1 &&
            day <= daysInMonth &&
            hour < 24 &&
            minute < 60 &&
            second < 60 &&
            zoneOk
          );
        },
      },
    },
    options,
  );
}

/** Exactly one of `role` or `userIds` (checked by BroadcastsService, which says which rule failed). */
export class AudienceDto {
  @ApiPropertyOptional({
    enum: ROLES,
    description: 'Users holding this role when they read it (among those who existed when it was sent)',
  })
  @IsOptional()
  @IsIn(ROLES, { message: `role must be one of: ${ROLES.join(', ')}` })
  role?: Role;

  @ApiPropertyOptional({ type: [String], maxItems: MAX_AUDIENCE_USER_IDS, example: ['7', '8'] })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_AUDIENCE_USER_IDS)
  @Matches(/^[1-9]\d{0,17}$/, { each: true, message: 'userIds must be decimal user ids as strings' })
  userIds?: string[];
}

export class SendBroadcastDto {
  @draft.Title({ example: 'Maintenance tonight', message: 'title must be 1 to 200 characters' })
  title: string;

  @draft.Body({
    example: 'Checkout is unavailable from 02:00 to 02:30 UTC.',
    message: 'body must be at most 10,000 characters',
  })
  body: string;

  @draft.Severity()
  severity?: Severity;

  @ApiPropertyOptional({ type: AudienceDto, description: 'Absent: every user who exists when it is sent' })
  // Only absent means everyone: @IsOptional would let null through as well.
  @ValidateIf((_: unknown, audience: unknown) => audience !== undefined)
  @IsObject({ message: 'audience must be an object with role or userIds' })
  @ValidateNested()
  @Type(() => AudienceDto)
  audience?: AudienceDto;

  @ApiPropertyOptional({
    example: '2030-01-01T00:00:00.000Z',
    description: 'An RFC 3339 date-time with a time zone (Z or ±hh:mm), in the future',
  })
  @IsOptional()
  @IsString({ message: RFC3339_MESSAGE })
  @Matches(RFC3339_DATE_TIME, { message: RFC3339_MESSAGE })
  @IsRealDateTime({ message: RFC3339_MESSAGE })
  expiresAt?: string;

  @draft.Deliver({
    notOne: `deliver must list ${andOr(DELIVERY_METHODS)}`,
    description: 'Also send by these methods to audience members without an open stream (docs/delivery.md)',
  })
  deliver?: DeliveryMethod[];

  @draft.Actions({ tooMany: `actions: at most ${MAX_ACTIONS}`, description: 'Buttons, at most 3' })
  actions?: NotificationActionDto[];

  @TranslationsProperty()
  translations?: Record<string, { title: string; body: string }>;
}
