import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Matches, Max, Min } from 'class-validator';

/**
 * A list's optional `limit` query parameter, 1 to `max`, `fallback` when absent (as documented;
 * the route applies it). Validators listed as they would stand bottom to top over the property,
 * so that a value breaking several rules gets its messages in the same order.
 */
export function LimitProperty(max: number, fallback: number) {
  const message = `limit must be an integer from 1 to ${max}`;
  return applyDecorators(
    Max(max, { message }),
    Min(1, { message }),
    IsInt({ message }),
    Type(() => Number),
    IsOptional(),
    ApiPropertyOptional({ minimum: 1, maximum: max, default: fallback }),
  );
}

/** Keyset pagination, newest first: the inbox, orders and broadcasts lists share it. */
export class PageQueryDto {
  @LimitProperty(100, 20)
  limit?: number;

  @ApiPropertyOptional({ description: "Only items with a smaller id (the previous page's nextBefore)" })
  @IsOptional()
  @Matches(/^\d{1,18}$/, { message: 'before must be a decimal id' })
  before?: string;
}
