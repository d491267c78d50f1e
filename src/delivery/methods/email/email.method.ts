import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../../../config/config.module.js';
import type { AppConfig } from '../../../config/env.js';
import { toJson } from '../../../notifications/notification.types.js';
import type { DeliveryBatch, DeliveryMethodPlugin, SendOutcome } from '../../port/delivery-method.js';
import { Mailer } from './mailer.js';
import { UnsubscribeTokens } from './unsubscribe-token.js';

/** Email: one digest per run to the account's address, with a one-click unsubscribe link. */
@Injectable()
export class EmailMethod implements DeliveryMethodPlugin, OnApplicationShutdown {
  readonly method = 'email';
  readonly grouping = 'digest';
  readonly contactNeededToEnable = null;
  private readonly mailer: Mailer;
  private readonly tokens: UnsubscribeTokens;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly db: DataSource,
  ) {
    this.mailer = new Mailer(config.delivery);
    this.tokens = new UnsubscribeTokens(config.sessionSecret);
  }

  onApplicationShutdown(): void {
    this.mailer.close();
  }

  /** Every account has its address. */
  hasContactSql(): null {
    return null;
  }

  async send({ userId, rows }: DeliveryBatch): Promise<SendOutcome> {
    const [user]: Array<{ email: string; locale: string; time_zone: string | null }> = await this.db.query(
      `SELECT u.email, u.locale, p.quiet_tz AS time_zone
         FROM users u LEFT JOIN notification_preferences p ON p.user_id = u.id WHERE u.id = $1`,
      [userId],
    );
    if (!user) return { status: 'failed', error: 'the user no longer exists' };
    const token = this.tokens.sign(
      userId,
      rows.map((c) => c.channel),
    );
    await this.mailer.send({
      to: user.email,
      notifications: rows.map((row) => toJson(row, user.locale)),
      unsubscribeUrl: `${this.config.delivery.publicUrl}/unsubscribe?token=${token}`,
      locale: user.locale,
      timeZone: user.time_zone ?? undefined,
    });
    return { status: 'sent' };
  }
}
