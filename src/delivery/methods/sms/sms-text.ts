import { localesIn, translator } from '../../../common/i18n.js';
import { localized, type NotificationRow } from '../../../notifications/notification.types.js';
import { fitSegments } from './segments.js';

const texts = translator(localesIn(new URL('./locales/', import.meta.url)));

/**
 * One run's SMS in the user's `locale`: the one notification's title and body, or the count and
 * the newest title; then the inbox link, kept whole while the text before it is cut to fit 2 segments.
 */
export function smsText(rows: readonly NotificationRow[], inboxUrl: string, locale = 'en'): string {
  const newest = localized(rows[rows.length - 1], locale);
  const text =
    rows.length === 1
      ? `${newest.title}: ${newest.body}`
      : texts(locale)('digest', { count: rows.length, title: newest.title });
  return fitSegments(text.replace(/\s+/g, ' ').trim(), undefined, `\n${inboxUrl}`);
}
