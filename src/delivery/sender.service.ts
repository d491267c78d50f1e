import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DELIVERY_METHOD_INFO, type DeliveryMethod } from '../../client/registry.js';
import { NotificationActivity } from '../notifications/activity.js';
import { NOTIFICATION_COLUMNS, type NotificationRow } from '../notifications/notification.types.js';
import { methodEnabledSql } from '../notifications/preferences.service.js';
import { unreadSql } from '../notifications/visibility.js';
import type { DeliverJob } from './escalation.service.js';
import { JobQueue, queueOf } from './job-queue.js';
import { PermanentError, TransientError } from './port/delivery-method.js';
import { DeliveryMethods } from './port/delivery-methods.js';

/** Attempts per delivery: the first and four retries (1 s, 2 s, 4 s, 8 s apart, capped at 5 min). */
export const MAX_ATTEMPTS = 5;
const backoffMs = (attempt: number) => Math.min(300_000, 1000 * 2 ** (attempt - 1));
/**
 * One send job's time, its requests included: then what is still in flight is cancelled (its
 * sockets destroyed) and retried later. Well under pg-boss's 60 s expiry and the claim timeout.
 */
const JOB_BUDGET_MS = 30_000;

type Claimed = NotificationRow & { delivery_id: string; attempts: number };

interface Outcome {
  status: 'sent' | 'failed' | 'scheduled';
  error: string | null;
  retryAt?: number;
}

/**
 * Sends one user's due deliveries of one method, by its plug-in. Each row is claimed first
 * (scheduled → sending, a conditional UPDATE: of two instances only one gets
 * it), sent, and its outcome recorded right after the provider's answer. A
 * claim whose process died is never sent again: the sweep marks it failed,
 * "outcome unknown" (docs/delivery.md).
 */
@Injectable()
export class SenderService {
  private readonly logger = new Logger('Sender');

  constructor(
    private readonly db: DataSource,
    private readonly jobs: JobQueue,
    private readonly methods: DeliveryMethods,
    private readonly activity: NotificationActivity,
  ) {}

  async deliver(job: DeliverJob): Promise<void> {
    const { userId, method } = job;
    const plugin = this.methods.get(method);
    // Read meanwhile, or the method switched off (unsubscribe): nothing goes out.
    await this.db.query(
      `UPDATE deliveries d SET status = 'cancelled',
              error = CASE WHEN ${unreadSql('d.user_id')} THEN 'switched off before it was sent' ELSE 'read in time' END
         FROM notifications n LEFT JOIN notification_preferences p ON p.user_id = $1
        WHERE d.user_id = $1 AND d.method = $2 AND d.status = 'scheduled' AND n.id = d.notification_id
          AND (NOT (${unreadSql('d.user_id')})
               OR NOT ${methodEnabledSql('$1', 'n.channel', '$2', '$3::bool')}
               OR (n.severity <> 'critical' AND n.channel = ANY (p.muted_channels)))`,
      [userId, method, DELIVERY_METHOD_INFO[method].enabledByDefault],
    );
    // (TypeORM answers an UPDATE with [rows, count].)
    const [claimed]: [Claimed[], number] = await this.db.query(
      `UPDATE deliveries d SET status = 'sending', attempts = d.attempts + 1, claimed_at = now()
         FROM notifications n
        WHERE d.user_id = $1 AND d.method = $2 AND d.status = 'scheduled' AND d.not_before <= now()
          AND n.id = d.notification_id
        RETURNING d.id::text AS delivery_id, d.attempts, ${NOTIFICATION_COLUMNS}`,
      [userId, method],
    );
    if (claimed.length === 0) return;
    claimed.sort((a, b) => Number(a.id) - Number(b.id));
    const groups = plugin.grouping === 'digest' ? [claimed] : claimed.map((c) => [c]);
    const signal = AbortSignal.timeout(JOB_BUDGET_MS);
    let retryAt: number | null = null;
    for (const rows of groups) {
      let outcome: Outcome;
      try {
        const sent = await plugin.send({ userId, rows, signal });
        outcome = sent.status === 'sent' ? { status: 'sent', error: null } : { status: 'failed', error: sent.error };
      } catch (err) {
        outcome = this.onError(method, err, rows);
      }
      await this.record(rows, outcome);
      this.tell(userId, method, rows, outcome);
      if (outcome.retryAt) retryAt = Math.min(retryAt ?? Infinity, outcome.retryAt);
    }
    if (retryAt !== null) await this.jobs.boss.send(queueOf(method), job, { startAfter: new Date(retryAt) });
  }

  private onError(method: DeliveryMethod, err: unknown, claimed: Claimed[]): Outcome {
    // Users read the delivery log: it gets categories (the senders' errors are), never an
    // unexpected error's text, which goes to the server log.
    const known = err instanceof TransientError || err instanceof PermanentError;
    if (!known) this.logger.warn(`${method} delivery failed: ${(err as Error).message}`);
    const message = known ? (err as Error).message : 'internal error';
    const attempts = Math.max(...claimed.map((c) => c.attempts));
    // Transient: the provider said "later", or something on our side failed before it
    // answered (a database outage while reading the address): either way, try again.
    if (!(err instanceof PermanentError) && attempts < MAX_ATTEMPTS) {
      const wait = Math.max(backoffMs(attempts), err instanceof TransientError ? (err.retryAfterMs ?? 0) : 0);
      return { status: 'scheduled', error: message, retryAt: Date.now() + wait };
    }
    return { status: 'failed', error: message };
  }

  /** Outbound webhooks hear of a final outcome (sent, or failed for good), whatever the method. */
  private tell(userId: string, method: DeliveryMethod, rows: Claimed[], o: Outcome): void {
    const notificationIds = rows.map((r) => String(r.id));
    if (o.status === 'sent') this.activity.emit({ type: 'delivery.sent', userId, notificationIds, method });
    if (o.status === 'failed') {
      this.activity.emit({ type: 'delivery.failed', userId, notificationIds, method, error: o.error ?? 'failed' });
    }
  }

  /**
   * The outcome is written right after the provider answered; a database outage at that
   * moment is waited out (for up to the claim timeout) rather than left to the sweep.
   */
  private async record(claimed: Claimed[], o: Outcome): Promise<void> {
    const ids = claimed.map((c) => c.delivery_id);
    const deadline = Date.now() + 60_000;
    for (let wait = 200; ; wait = Math.min(wait * 2, 5000)) {
      try {
        await this.db.query(
          `UPDATE deliveries SET status = $2, error = COALESCE($3, error),
                  sent_at = CASE WHEN $2 = 'sent' THEN now() END,
                  not_before = COALESCE($4::timestamptz, not_before)
            WHERE id = ANY ($1::bigint[]) AND status = 'sending'`,
          [ids, o.status, o.error, o.retryAt ? new Date(o.retryAt) : null],
        );
        return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        this.logger.warn(`Recording ${ids.length} delivery outcomes failed, retrying: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }
}
