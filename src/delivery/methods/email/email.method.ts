import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
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

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
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

  async send({ userId, recipient, rows }: DeliveryBatch): Promise<SendOutcome> {
    const token = this.tokens.sign(
      userId,
      rows.map((c) => c.channel),
    );
    await this.mailer.send({
      to: recipient.email,
      notifications: rows.map((row) => toJson(row, recipient.locale)),
      unsubscribeUrl: `${this.config.delivery.publicUrl}/unsubscribe?token=${token}`,
      locale: recipient.locale,
      timeZone: recipient.timeZone ?? undefined,
    });
    return { status: 'sent' };
  }
}
