import { BadRequestException, Param, PipeTransform } from '@nestjs/common';

const MAX_BIGINT = 9223372036854775807n;

export function isId(value: unknown): value is string {
  return typeof value === 'string' && /^\d{1,19}$/.test(value) && BigInt(value) > 0n && BigInt(value) <= MAX_BIGINT;
}

/** A positive bigint id in the path, kept as its decimal string; anything else 400. */
export class ParseIdPipe implements PipeTransform<unknown, string> {
  transform(value: unknown): string {
    if (!isId(value)) throw new BadRequestException('id must be a positive decimal integer');
    return value;
  }
}

export const IdParam = (name = 'id') => Param(name, new ParseIdPipe());
