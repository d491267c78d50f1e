import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Channel } from '../notifications/notification.types.js';
import { isChannel } from '../notifications/notification.types.js';

/** Unsubscribe links stay valid this long (a digest read weeks later still works). */
export const UNSUBSCRIBE_TTL_MS = 60 * 24 * 3_600_000;

/**
 * `<userId>.<channel-channel>.<expiry seconds>.<HMAC-SHA256>`: everything the
 * one-click unsubscribe needs, so it works with no session. The key is derived
 * from SESSION_SECRET with a label of its own, so a token can never pass for a
 * session cookie signature or the other way round.
 */
export class UnsubscribeTokens {
  private readonly key: Buffer;

  constructor(secret: string) {
    this.key = createHmac('sha256', secret).update('unsubscribe-token-v1').digest();
  }

  sign(userId: string, channels: Channel[], now = Date.now()): string {
    const body = `${userId}.${[...new Set(channels)].sort().join('-')}.${Math.floor((now + UNSUBSCRIBE_TTL_MS) / 1000)}`;
    return `${body}.${this.mac(body)}`;
  }

  /** The user and channels, or null if forged, malformed or expired. */
  verify(token: string, now = Date.now()): { userId: string; channels: Channel[] } | null {
    const m = /^([1-9][0-9]{0,18})\.([a-z-]{1,40})\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!m) return null;
    const [, userId, list, exp, mac] = m;
    const expected = Buffer.from(this.mac(`${userId}.${list}.${exp}`));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
    if (Number(exp) * 1000 < now) return null;
    const channels = list.split('-');
    if (!channels.every(isChannel)) return null;
    return { userId, channels: channels as Channel[] };
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }
}
