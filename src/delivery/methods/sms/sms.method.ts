import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG } from '../../../config/config.module.js';
import type { AppConfig } from '../../../config/env.js';
import { ContactsService } from '../../../contacts/contacts.service.js';
import {
  PermanentError,
  TransientError,
  type DeliveryBatch,
  type DeliveryMethodPlugin,
  type SendOutcome,
} from '../../port/delivery-method.js';
import { smsText } from './sms-text.js';
import { SmsError, SmsTransport } from './sms-transport.js';

/** SMS: one message per run (a digest), only to a verified phone number. */
@Injectable()
export class SmsMethod implements DeliveryMethodPlugin {
  readonly method = 'sms';
  readonly grouping = 'digest';
  readonly contactNeededToEnable = 'needs a verified phone number';

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly contacts: ContactsService,
    private readonly transport: SmsTransport,
  ) {}

  hasContactSql(userId: string): string {
    return `EXISTS (SELECT 1 FROM user_phones ph WHERE ph.user_id = ${userId} AND ph.verified_at IS NOT NULL)`;
  }

  async send({ userId, recipient, rows }: DeliveryBatch): Promise<SendOutcome> {
    // Read again at send time: the phone may have been removed or changed since the run began.
    const to = await this.contacts.verifiedNumber(userId);
    if (!to) return { status: 'failed', error: 'no verified phone number' };
    try {
      await this.transport.send({ to, body: smsText(rows, `${this.config.delivery.publicUrl}/`, recipient.locale) });
    } catch (err) {
      if (!(err instanceof SmsError)) throw err;
      throw err.transient ? new TransientError(err.message) : new PermanentError(err.message);
    }
    return { status: 'sent' };
  }
}
