/**
 * The languages the service translates notifications, emails and pushes into, each named in itself
 * (the page's language switch). The server accepts any known BCP 47 tag and falls back (`fr-CA` →
 * `fr` → `en`); these are the ones it ships translations for. Imports nothing.
 */
export const LOCALE_INFO = {
  en: { label: 'English' },
  de: { label: 'Deutsch' },
  fr: { label: 'Français' },
  es: { label: 'Español' },
} as const satisfies Record<string, { readonly label: string }>;

export type SupportedLocale = keyof typeof LOCALE_INFO;

export const LOCALES = Object.keys(LOCALE_INFO) as readonly SupportedLocale[];
