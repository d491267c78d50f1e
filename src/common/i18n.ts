import { readdirSync, readFileSync } from 'node:fs';
import i18next, { type TFunction } from 'i18next';

/**
 * The languages every shipped text exists in (`<renderer's folder>/locales/<language>.json`;
 * test/i18n.unit.test.ts holds every folder to this list). A locale resolves to itself, then its
 * language (`fr-CA` → `fr`), then `en`.
 */
export const LANGUAGES = ['en', 'de', 'fr', 'es', 'pl'] as const;
export type Language = (typeof LANGUAGES)[number];

export interface Messages {
  readonly [key: string]: string | Messages;
}

/**
 * A renderer's texts: every `<language>.json` of its `locales/` folder (`new URL('./locales/',
 * import.meta.url)`), read once at startup. tsc copies them to dist/ (tsconfig.build.json's
 * include), so a language is added by adding files.
 */
export function localesIn(folder: URL): Record<string, Messages> {
  const files = readdirSync(folder).filter((f) => f.endsWith('.json'));
  return Object.fromEntries(
    files.map((f) => [f.slice(0, -'.json'.length), JSON.parse(readFileSync(new URL(f, folder), 'utf8')) as Messages]),
  );
}

/** How one renderer speaks: its texts per language (`en` complete), ICU plurals as `_one`/`_other`/…. */
export function translator(bundles: Record<string, Messages>): (locale: string) => TFunction {
  if (!bundles.en) throw new Error('A renderer needs its en texts (locales/en.json)');
  const i18n = i18next.createInstance();
  // Resources are given inline, so init is synchronous (initAsync: false).
  void i18n.init({
    initAsync: false,
    resources: Object.fromEntries(Object.entries(bundles).map(([language, m]) => [language, { translation: m }])),
    fallbackLng: 'en',
    // Plain text: the HTML renderers (email) escape what they insert.
    interpolation: { escapeValue: false },
    returnNull: false,
  });
  const fixed = cached<TFunction>();
  return (locale) => fixed(locale, () => i18n.getFixedT(locale));
}

/**
 * Per locale (and currency, or zone) what is costly to build and cheap to use (formatters, fixed
 * words). Locales come from users, so a map starts over past 1,000 keys rather than growing.
 */
export function cached<T>(): (key: string, make: () => T) => T {
  const map = new Map<string, T>();
  return (key, make) => {
    let v = map.get(key);
    if (v === undefined) {
      if (map.size >= 1000) map.clear();
      map.set(key, (v = make()));
    }
    return v;
  };
}

const moneyFormats = cached<{ format: Intl.NumberFormat; digits: number }>();

/** Minor units (cents) as money in the locale: (1999, 'EUR', 'de') → "19,99 €". */
export function formatMoney(minor: number, currency: string, locale: string): string {
  // One formatter per locale and currency: building one costs more than formatting (every order).
  const m = moneyFormats(`${locale} ${currency}`, () => {
    const format = new Intl.NumberFormat(locale, { style: 'currency', currency });
    // The currency's own minor unit (2 for EUR, 0 for JPY), exact in decimal.
    return { format, digits: format.resolvedOptions().maximumFractionDigits ?? 2 };
  });
  return m.format.format(Number(`${minor}e-${m.digits}`));
}

const dateFormats = cached<Intl.DateTimeFormat>();

/** A moment in the locale, in `timeZone` (IANA) if given, else UTC, the zone named: "7. Dez. 2026, 15:05 MEZ". */
export function formatDateTime(at: Date, locale: string, timeZone = 'UTC'): string {
  // One formatter per locale and zone, as for money: building one was 16 % of an email's CPU.
  const format = dateFormats(
    `${locale} ${timeZone}`,
    () =>
      new Intl.DateTimeFormat(locale, {
        year: 'numeric',
        month: 'short',
        day: 'numeric',
        hour: 'numeric',
        minute: '2-digit',
        timeZoneName: 'short',
        timeZone,
      }),
  );
  return format.format(at);
}
