import type { NotificationRow } from '../../../notifications/notification.types.js';
import { fitSegments } from './segments.js';

/**
 * One run's SMS: the one notification's title and body, or the count and the newest title; then
 * the inbox link, kept whole while the text before it is cut to fit 2 segments.
 */
export function smsText(rows: readonly NotificationRow[], inboxUrl: string): string {
  const newest = rows[rows.length - 1];
  const text =
    rows.length === 1 ? `${newest.title}: ${newest.body}` : `${rows.length} new notifications. Newest: ${newest.title}`;
  return fitSegments(text.replace(/\s+/g, ' ').trim(), undefined, `\n${inboxUrl}`);
}
