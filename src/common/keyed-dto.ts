import type { Type } from '@nestjs/common';

/**
 * A DTO class with one property per key, each with the same decorators: the
 * toggles per channel and per delivery method come from the registry
 * (client/registry.ts), not from a property written out per channel.
 */
export function dtoPerKey<K extends string, V>(
  name: string,
  keys: readonly K[],
  decorators: () => PropertyDecorator[],
): Type<Partial<Record<K, V>>> {
  // The class keeps `name`: it is the schema's name in the OpenAPI document.
  const dto = { [name]: class {} }[name];
  for (const key of keys) for (const decorate of decorators()) decorate(dto.prototype, key);
  return dto as Type<Partial<Record<K, V>>>;
}
