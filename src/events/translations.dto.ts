import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, ValidateBy } from 'class-validator';
import type { Translations } from '../notifications/notification.types.js';
import { canonicalLocale } from '../users/locale.js';

// For the sources and the API, which reach the core only through src/events/.
export type { Translations } from '../notifications/notification.types.js';
export { localized } from '../notifications/notification.types.js';

/** Locales one notification may be translated to. */
export const MAX_TRANSLATIONS = 50;

export const TRANSLATIONS_MESSAGE = `translations must map BCP 47 locales of known languages (de, fr-CA), each once and at most ${MAX_TRANSLATIONS}, to { title: 1 to 200 characters, body: at most 10,000 }`;

/**
 * `{ "<locale>": { title, body } }` as broadcasts and API publishes give it: each key a locale
 * the user's `locale` preference would accept (any known language, not only the shipped ones),
 * no two keys the same locale once canonical (`fr-ca`, `fr-CA`), each text as long as the
 * default's may be.
 */
export function isTranslations(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const entries = Object.entries(value);
  if (entries.length > MAX_TRANSLATIONS) return false;
  const seen = new Set<string>();
  return entries.every(([locale, t]) => {
    const canonical = canonicalLocale(locale);
    if (canonical === null || seen.has(canonical)) return false;
    seen.add(canonical);
    if (typeof t !== 'object' || t === null || Array.isArray(t)) return false;
    const { title, body, ...rest } = t as Record<string, unknown>;
    return (
      Object.keys(rest).length === 0 &&
      typeof title === 'string' &&
      title.length >= 1 &&
      title.length <= 200 &&
      typeof body === 'string' &&
      body.length <= 10_000
    );
  });
}

/** Validated translations with canonical keys (`fr-ca` → `fr-CA`), as stored. */
export function canonicalTranslations(value: Translations | undefined): Translations | undefined {
  if (value === undefined) return undefined;
  return Object.fromEntries(
    Object.entries(value).map(([locale, { title, body }]) => [canonicalLocale(locale)!, { title, body }]),
  );
}

/** The `translations` property of a request body. */
export function TranslationsProperty() {
  return applyDecorators(
    ApiPropertyOptional({
      type: 'object',
      additionalProperties: {
        type: 'object',
        properties: { title: { type: 'string' }, body: { type: 'string' } },
        required: ['title', 'body'],
      },
      example: { de: { title: 'Wieder da', body: 'Der blaue Kessel ist wieder da.' } },
      description: "Texts per BCP 47 locale; a user sees their locale's, else their language's, else title and body",
    }),
    IsOptional(),
    ValidateBy({ name: 'isTranslations', validator: { validate: isTranslations } }, { message: TRANSLATIONS_MESSAGE }),
  );
}
