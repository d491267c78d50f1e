import { Inject, Injectable } from '@nestjs/common';
import { groupBy } from '../../../common/group-by.js';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../../../config/config.module.js';
import type { AppConfig } from '../../../config/env.js';
import { toJson } from '../../../notifications/notification.types.js';
import { Outbound } from '../../../outbound/outbound.module.js';
import { OutboundError } from '../../../outbound/outbound-error.js';
import {
  type DeliveryBatch,
  type DeliveryMethodPlugin,
  type SendOutcome,
  TransientError,
} from '../../port/delivery-method.js';
import { pushTarget } from './push-allowlist.js';
import { MAX_BROWSERS_PER_USER } from './push-subscriptions.js';
import { WebPush } from './web-push.js';

type Subscription = { id: string; endpoint: string; p256dh: string; auth: string };

/** Web Push: one message per notification, to every browser the user subscribed. */
@Injectable()
export class PushMethod implements DeliveryMethodPlugin<Subscription[]> {
  readonly method = 'push';
  readonly grouping = 'each';
  // On by default: a user switches it on before any browser is subscribed, and nothing goes out until one is.
  readonly contactNeededToEnable = null;
  private readonly push: WebPush;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly db: DataSource,
    outbound: Outbound,
  ) {
    this.push = new WebPush(outbound, config.delivery.vapid);
  }

  hasContactSql(userId: string): string {
    return `EXISTS (SELECT 1 FROM push_subscriptions ps WHERE ps.user_id = ${userId})`;
  }

  /**
   * Each user's newest browsers (at most MAX_BROWSERS_PER_USER, which subscribing keeps), for a
   * job's group of users at once. By the user_id index and cut here: a LIMIT per user under
   * `ORDER BY id DESC` led the planner to walk the primary key backwards, 84 ms a group once
   * the table held 20,000 rows (bench offline scenario).
   */
  async contactsOf(userIds: string[]): Promise<Map<string, Subscription[]>> {
    const rows: Array<Subscription & { user_id: string }> = await this.db.query(
      `SELECT user_id::text, id::text, endpoint, p256dh, auth FROM push_subscriptions
        WHERE user_id = ANY ($1::bigint[])`,
      [userIds],
    );
    const byUser = groupBy(
      rows.sort((a, b) => Number(b.id) - Number(a.id)),
      (r) => r.user_id,
    );
    return new Map([...byUser].map(([user, subs]) => [user, subs.slice(0, MAX_BROWSERS_PER_USER)]));
  }

  /**
   * To every subscribed browser at once (at most MAX_BROWSERS_PER_USER); sent once any
   * browser's push service took it. Each endpoint is checked again here, by the same rules as
   * when it was stored: the rules or the allow-list may have changed, or the row came another way.
   */
  async send({
    recipient,
    contact: subs = [],
    rows: [row],
    signal,
  }: DeliveryBatch<Subscription[]>): Promise<SendOutcome> {
    if (subs.length === 0) return { status: 'failed', error: 'no push subscription' };
    const payload = JSON.stringify(toJson(row, recipient.locale));
    const answers = await Promise.all(
      subs.map(async (s): Promise<{ sent: true } | { transient: boolean; error: string }> => {
        try {
          const target = pushTarget(s.endpoint, this.config.delivery.pushAllowlist);
          const res = await this.push.send({
            target,
            keys: { p256dh: s.p256dh, auth: s.auth },
            payload,
            urgent: row.severity === 'critical',
            signal,
          });
          if (res.status >= 200 && res.status < 300) return { sent: true };
          if (res.status === 404 || res.status === 410) {
            // The browser unsubscribed or the subscription expired: forget it.
            await this.db.query(`DELETE FROM push_subscriptions WHERE id = $1`, [s.id]);
            return { transient: false, error: `push service answered ${res.status}: subscription removed` };
          }
          if (res.status === 429 || res.status >= 500) {
            return { transient: true, error: `push service answered ${res.status}` };
          }
          return { transient: false, error: `rejected by the push service (${res.status})` };
        } catch (err) {
          if (!(err instanceof OutboundError)) throw err;
          return { transient: err.transient, error: err.category };
        }
      }),
    );
    if (answers.some((a) => 'sent' in a)) return { status: 'sent' };
    const failures = answers as Array<{ transient: boolean; error: string }>;
    const transient = failures.find((a) => a.transient);
    if (transient) throw new TransientError(transient.error);
    return { status: 'failed', error: failures[0].error };
  }
}
