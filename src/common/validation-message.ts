import type { ValidationError } from 'class-validator';

/**
 * Constraints that say what kind of value a field takes. When one of them fails,
 * the field's other constraints (lengths, ranges, formats) are beside the point:
 * "body must be at most 10,000 characters" about a number, or about a field that
 * is not there, only confuses.
 */
const TYPE_CONSTRAINTS = new Set(['isDefined', 'isString', 'isInt', 'isNumber', 'isBoolean', 'isArray', 'isObject']);

/** Constraints about the body's shape rather than a field's value: always reported as they are. */
const SHAPE_CONSTRAINTS = new Set(['whitelistValidation', 'unknownValue']);

/** What to say about one field: one message when it is missing or of the wrong type, else every failed rule. */
function fieldMessages(e: ValidationError, path: string): string[] {
  const constraints = e.constraints ?? {};
  const keys = Object.keys(constraints);
  if (keys.length === 0) return [];
  // A rule's own message may name the field by a path of its own (`quietHours.start must …`,
  // `actions[].url must …`): that name gives way to the real path, rather than follow it.
  const prefixed = (m: string) => {
    if (!path) return m;
    const named = m.split(' ', 1)[0];
    return e.property && named.endsWith(`.${e.property}`)
      ? `${path}.${e.property}${m.slice(named.length)}`
      : `${path}.${m}`;
  };
  if (keys.some((k) => SHAPE_CONSTRAINTS.has(k))) return keys.map((k) => prefixed(constraints[k]));
  // A required field that is absent (optional ones are never validated when absent).
  if (e.value === undefined && e.property) return [prefixed(`${e.property} is required`)];
  const typeKeys = keys.filter((k) => TYPE_CONSTRAINTS.has(k));
  // Rules that share a wording (isEmail and the control characters' check) say it once.
  return [...new Set((typeKeys.length > 0 ? typeKeys : keys).map((k) => prefixed(constraints[k])))];
}

/**
 * class-validator's errors as the sentences of a 400 answer, each naming its
 * field first (nested ones by path: `items.0.sku must be …`); the inbox page
 * relies on that to mark the fields.
 */
export function validationMessages(errors: ValidationError[], path = ''): string[] {
  return errors.flatMap((e) => [
    ...fieldMessages(e, path),
    ...validationMessages(e.children ?? [], path ? `${path}.${e.property}` : e.property),
  ]);
}
