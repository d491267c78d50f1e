import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Channel } from '../../../notifications/notification.types.js';
import { isChannel } from '../../../notifications/notification.types.js';

/**
 * How long an unsubscribe link works. A mail client posts it when the user clicks unsubscribe
 * on a message, usually within days of receiving it; a month also covers an inbox cleared
 * after a holiday. Past that, the preferences page is one sign-in away, and a URL that can
 * change a setting should not live for months in mailboxes and logs.
 */
export const UNSUBSCRIBE_TTL_MS = 30 * 24 * 3_600_000;

export interface UnsubscribeToken {
  userId: string;
  channels: Channel[];
  /** When it was sent (ms): it applies only while these channels' email setting is unchanged since. */
  issuedAt: number;
}

/**
 * `<userId>.<channel-channel>.<issued at, ms>.<HMAC-SHA256>`: everything the one-click
 * unsubscribe needs, so it works with no session. The key is derived from SESSION_SECRET with
 * a label of its own, so a token can never pass for a session cookie signature or the other
 * way round. What a token may still do is decided with the preferences (Unsubscribe).
 */
export class UnsubscribeTokens {
  private readonly key: Buffer;
  /** Links of the previous version (`.<expiry, s>.` with 60 days' validity) still in mailboxes. */
  private readonly v1Key: Buffer;

  constructor(secret: string) {
    this.key = createHmac('sha256', secret).update('unsubscribe-token-v2').digest();
    this.v1Key = createHmac('sha256', secret).update('unsubscribe-token-v1').digest();
  }

  sign(userId: string, channels: Channel[], now = Date.now()): string {
    const body = `${userId}.${[...new Set(channels)].sort().join('-')}.${Math.floor(now)}`;
    return `${body}.${this.mac(body)}`;
  }

  /** The token's content, or null if forged, malformed or expired. */
  verify(token: string, now = Date.now()): UnsubscribeToken | null {
    const m = /^([1-9][0-9]{0,18})\.([a-z-]{1,40})\.([0-9]{1,15})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!m) return null;
    const [, userId, list, stamp, mac] = m;
    const body = `${userId}.${list}.${stamp}`;
    let issuedAt: number;
    if (same(this.mac(body), mac)) issuedAt = Number(stamp);
    else if (same(this.mac(body, this.v1Key), mac)) issuedAt = Number(stamp) * 1000 - 60 * 24 * 3_600_000;
    else return null;
    if (issuedAt + UNSUBSCRIBE_TTL_MS < now) return null;
    const channels = list.split('-');
    if (!channels.every(isChannel)) return null;
    return { userId, channels: channels as Channel[], issuedAt };
  }

  private mac(body: string, key = this.key): string {
    return createHmac('sha256', key).update(body).digest('base64url');
  }
}

function same(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
