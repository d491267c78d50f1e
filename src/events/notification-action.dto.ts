import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, IsUrl, Length, Matches } from 'class-validator';
import type { NotificationAction } from '../../client/wire.js';

export const MAX_ACTIONS = 3;
export const ACTION_STYLES = ['primary', 'secondary'] as const;
/** What an action id may look like: it goes into a path (POST /notifications/:id/actions/:actionId). */
export const ACTION_ID = /^[a-z0-9][a-z0-9_-]{0,31}$/;

/** A button on a notification, as a publisher (broadcasts, the API) gives it. */
export class NotificationActionDto implements NotificationAction {
  @ApiProperty({ example: 'track', description: 'Lower-case letters, digits, - and _; up to 32' })
  @IsString({ message: 'actions[].id must be a string' })
  @Matches(ACTION_ID, { message: 'actions[].id must be 1-32 of a-z, 0-9, - and _ (starting with a letter or digit)' })
  id: string;

  @ApiProperty({ example: 'Track it', minLength: 1, maxLength: 40 })
  @IsString({ message: 'actions[].label must be a string' })
  @Length(1, 40, { message: 'actions[].label must be 1 to 40 characters' })
  label: string;

  @ApiPropertyOptional({ example: 'https://shop.example/orders/1001', description: 'http(s) only' })
  @IsOptional()
  @IsUrl(
    { protocols: ['http', 'https'], require_protocol: true, require_tld: false },
    { message: 'actions[].url must be an http(s) URL' },
  )
  @Length(1, 2000, { message: 'actions[].url must be at most 2,000 characters' })
  url?: string;

  @ApiProperty({ enum: ACTION_STYLES })
  @IsIn(ACTION_STYLES, { message: `actions[].style must be one of: ${ACTION_STYLES.join(', ')}` })
  style: 'primary' | 'secondary';
}
