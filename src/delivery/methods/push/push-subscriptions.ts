import { BadRequestException, ConflictException, Inject, Injectable } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../../../config/config.module.js';
import type { AppConfig } from '../../../config/env.js';
import { OutboundError } from '../../../outbound/outbound-error.js';
import { keysValid, pushTarget } from './push-allowlist.js';

/** Push subscriptions kept per user: the newest, a browser each. */
export const MAX_BROWSERS_PER_USER = 10;

/**
 * One row per browser. A browser that signs in as someone else moves to them, proving it is the
 * same browser by the auth secret it generated with the subscription: the endpoint alone is not
 * a secret (it passes through push services, proxies and logs), and whoever could move it would
 * silently take the other user's notifications.
 */
@Injectable()
export class PushSubscriptions {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly db: DataSource,
  ) {}

  async add(userId: string, endpoint: string, keys: { p256dh: string; auth: string }): Promise<void> {
    try {
      pushTarget(endpoint, this.config.delivery.pushAllowlist);
    } catch (err) {
      if (!(err instanceof OutboundError)) throw err;
      throw new BadRequestException(
        `endpoint is not a push service this server may call (PUSH_ENDPOINT_ALLOWLIST): ${err.detail}`,
      );
    }
    if (!keysValid(keys.p256dh, keys.auth)) {
      throw new BadRequestException('keys.p256dh must be a P-256 public key and keys.auth 16 bytes, base64url');
    }
    // Then the user's browsers beyond the newest MAX_BROWSERS_PER_USER go: every notification is
    // sent to each of them in turn, so without a bound one account could make the server post
    // to thousands of endpoints per notification. A browser subscribing again becomes the newest.
    await this.db.transaction(async (m) => {
      const [held]: Array<{ user_id: string; auth: string }> = await m.query(
        `SELECT user_id::text, auth FROM push_subscriptions WHERE endpoint = $1 FOR UPDATE`,
        [endpoint],
      );
      if (held && held.user_id !== userId && !sameSecret(held.auth, keys.auth)) throw takenElsewhere();
      // The same condition again for a row a concurrent request inserted after the read above.
      const inserted: unknown[] = await m.query(
        `INSERT INTO push_subscriptions AS s (user_id, endpoint, p256dh, auth) VALUES ($1, $2, $3, $4)
         ON CONFLICT (endpoint) DO UPDATE SET user_id = EXCLUDED.user_id, p256dh = EXCLUDED.p256dh,
                                              auth = EXCLUDED.auth, created_at = now()
          WHERE s.user_id = EXCLUDED.user_id OR s.auth = EXCLUDED.auth
         RETURNING 1`,
        [userId, endpoint, keys.p256dh, keys.auth],
      );
      if (inserted.length === 0) throw takenElsewhere();
      await m.query(
        `DELETE FROM push_subscriptions WHERE user_id = $1 AND id NOT IN (
           SELECT id FROM push_subscriptions WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2)`,
        [userId, MAX_BROWSERS_PER_USER],
      );
    });
  }

  async remove(userId: string, endpoint: string): Promise<void> {
    await this.db.query(`DELETE FROM push_subscriptions WHERE user_id = $1 AND endpoint = $2`, [userId, endpoint]);
  }
}

const takenElsewhere = () =>
  new ConflictException('This push endpoint is subscribed by another browser session: subscribe afresh');

/** Compares two auth secrets without telling by its timing how much of them matched. */
function sameSecret(stored: string, given: string): boolean {
  const a = Buffer.from(stored);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
