import { PageQueryDto } from '../common/page-query.dto.js';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsISO8601,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Matches,
  MaxLength,
  ValidateNested,
} from 'class-validator';
import { NotificationDto } from '../notifications/notifications.dto.js';
import { SEVERITIES, type Severity } from '../notifications/notification.types.js';
import { ROLES, type Role } from '../users/user.entity.js';

export const MAX_AUDIENCE_USER_IDS = 10_000;

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
  @ApiProperty({ minLength: 1, maxLength: 200, example: 'Maintenance tonight' })
  @IsString()
  @Length(1, 200, { message: 'title must be 1 to 200 characters' })
  title: string;

  @ApiProperty({ maxLength: 10_000, example: 'Checkout is unavailable from 02:00 to 02:30 UTC.' })
  @IsString()
  @MaxLength(10_000, { message: 'body must be at most 10,000 characters' })
  body: string;

  @ApiPropertyOptional({ enum: SEVERITIES, default: 'info' })
  @IsOptional()
  @IsIn(SEVERITIES, { message: `severity must be one of: ${SEVERITIES.join(', ')}` })
  severity?: Severity;

  @ApiPropertyOptional({ type: AudienceDto, description: 'Absent: every user who exists when it is sent' })
  @IsOptional()
  @IsObject({ message: 'audience must be an object with role or userIds' })
  @ValidateNested()
  @Type(() => AudienceDto)
  audience?: AudienceDto;

  @ApiPropertyOptional({ example: '2030-01-01T00:00:00.000Z', description: 'ISO 8601, in the future' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'expiresAt must be an ISO 8601 date' })
  expiresAt?: string;

  @ApiPropertyOptional({
    type: [String],
    enum: ['push', 'email'],
    description: 'Also send by these methods to audience members without an open stream (docs/delivery.md)',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(2)
  @IsIn(['push', 'email'], { each: true, message: 'deliver must list push and/or email' })
  deliver?: Array<'push' | 'email'>;
}

export class BroadcastListQueryDto extends PageQueryDto {}

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
