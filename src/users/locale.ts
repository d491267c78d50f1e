/** Languages Intl knows by name: a well-formed tag of an unknown language (`xx`) is refused. */
const languageNames = new Intl.DisplayNames(['en'], { type: 'language', fallback: 'none' });

/** The canonical BCP 47 form of `tag` (`fr-ca` → `fr-CA`), or null when it is malformed or its language unknown. */
export function canonicalLocale(tag: string): string | null {
  if (tag.length === 0 || tag.length > 35) return null;
  let canonical: string;
  try {
    [canonical] = Intl.getCanonicalLocales(tag);
  } catch {
    return null;
  }
  const language = new Intl.Locale(canonical).language;
  return languageNames.of(language) === undefined ? null : canonical;
}

/** The first acceptable tag of an `Accept-Language` header, by its q weights; else `en`. */
export function localeFromAcceptLanguage(header: string | undefined): string {
  if (!header) return 'en';
  const ranked = header
    .split(',')
    .slice(0, 20)
    .map((part, i) => {
      const [tag, ...params] = part.trim().split(';');
      const q = params.map((p) => /^\s*q=([01](\.\d{0,3})?)\s*$/.exec(p)).find(Boolean);
      return { tag: tag.trim(), q: q ? Number(q[1]) : 1, i };
    })
    .filter((x) => x.tag !== '*' && x.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i);
  for (const { tag } of ranked) {
    const locale = canonicalLocale(tag);
    if (locale) return locale;
  }
  return 'en';
}
