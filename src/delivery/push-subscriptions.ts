import { BadRequestException, Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/env.js';
import { endpointAllowed, keysValid } from './push-allowlist.js';

/** One row per browser; a browser that signs in as someone else moves to them. */
@Injectable()
export class PushSubscriptions {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly db: DataSource,
  ) {}

  async add(userId: string, endpoint: string, keys: { p256dh: string; auth: string }): Promise<void> {
    if (!endpointAllowed(endpoint, this.config.delivery.pushAllowlist)) {
      throw new BadRequestException('endpoint is not a push service this server may call (PUSH_ENDPOINT_ALLOWLIST)');
    }
    if (!keysValid(keys.p256dh, keys.auth)) {
      throw new BadRequestException('keys.p256dh must be a P-256 public key and keys.auth 16 bytes, base64url');
    }
    await this.db.query(
      `INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth) VALUES ($1, $2, $3, $4)
       ON CONFLICT (endpoint) DO UPDATE SET user_id = EXCLUDED.user_id, p256dh = EXCLUDED.p256dh,
                                            auth = EXCLUDED.auth, created_at = now()`,
      [userId, endpoint, keys.p256dh, keys.auth],
    );
  }

  async remove(userId: string, endpoint: string): Promise<void> {
    await this.db.query(`DELETE FROM push_subscriptions WHERE user_id = $1 AND endpoint = $2`, [userId, endpoint]);
  }
}
