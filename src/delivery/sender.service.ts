import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/env.js';
import { NOTIFICATION_COLUMNS, type NotificationRow, toJson } from '../notifications/notification.types.js';
import { asleepSql, unreadSql } from '../notifications/visibility.js';
import { Outbound } from '../outbound/outbound.module.js';
import { OutboundError } from '../outbound/outbound-error.js';
import type { Target } from '../outbound/target.js';
import { type DeliverJob, SNOOZED } from './escalation.service.js';
import { JobQueue, queueOf } from './job-queue.js';
import { Mailer, PermanentError, TransientError } from './mailer.js';
import { pushTarget } from './push-allowlist.js';
import { MAX_BROWSERS_PER_USER } from './push-subscriptions.js';
import { UnsubscribeTokens } from './unsubscribe-token.js';
import { WebPush } from './web-push.js';

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
 * Sends one user's due deliveries of one method. Each row is claimed first
 * (scheduled → sending, a conditional UPDATE: of two instances only one gets
 * it), sent, and its outcome recorded right after the provider's answer. A
 * claim whose process died is never sent again: the sweep marks it failed,
 * "outcome unknown" (docs/delivery.md).
 */
@Injectable()
export class SenderService implements OnApplicationShutdown {
  private readonly logger = new Logger('Sender');
  readonly mailer: Mailer;
  private readonly tokens: UnsubscribeTokens;
  private readonly push: WebPush;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly db: DataSource,
    private readonly jobs: JobQueue,
    outbound: Outbound,
  ) {
    this.mailer = new Mailer(config.delivery);
    this.tokens = new UnsubscribeTokens(config.sessionSecret);
    this.push = new WebPush(outbound, config.delivery.vapid);
  }

  onApplicationShutdown(): void {
    this.mailer.close();
  }

  async deliver(job: DeliverJob): Promise<void> {
    const { userId, method } = job;
    // Read meanwhile, snoozed, or the method switched off (unsubscribe): nothing goes out.
    await this.db.query(
      `UPDATE deliveries d SET status = 'cancelled',
              error = CASE WHEN ${asleepSql('d.user_id')} THEN $3
                           WHEN ${unreadSql('d.user_id')} THEN 'switched off before it was sent' ELSE 'read in time' END
         FROM notifications n LEFT JOIN notification_preferences p ON p.user_id = $1
        WHERE d.user_id = $1 AND d.method = $2 AND d.status = 'scheduled' AND n.id = d.notification_id
          AND (NOT (${unreadSql('d.user_id')})
               OR ${asleepSql('d.user_id')}
               OR n.channel = ANY (CASE WHEN $2 = 'push' THEN p.push_off ELSE p.email_off END)
               OR (n.severity <> 'critical' AND n.channel = ANY (p.muted_channels)))`,
      [userId, method, SNOOZED],
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
    // Email: one digest, one answer for all its rows. Push: one answer per notification.
    const groups = method === 'email' ? [claimed] : claimed.map((c) => [c]);
    const budget = AbortSignal.timeout(JOB_BUDGET_MS);
    let retryAt: number | null = null;
    for (const group of groups) {
      let outcome: Outcome;
      try {
        outcome =
          method === 'email' ? await this.sendEmail(userId, group) : await this.sendPush(userId, group[0], budget);
      } catch (err) {
        outcome = this.onError(err, group);
      }
      await this.record(group, outcome);
      if (outcome.retryAt) retryAt = Math.min(retryAt ?? Infinity, outcome.retryAt);
    }
    if (retryAt !== null) await this.jobs.boss.send(queueOf(method), job, { startAfter: new Date(retryAt) });
  }

  private onError(err: unknown, claimed: Claimed[]): Outcome {
    // Users read the delivery log: it gets categories (the senders' errors are), never an
    // unexpected error's text, which goes to the server log.
    const known = err instanceof TransientError || err instanceof PermanentError;
    if (!known) this.logger.warn(`Delivery failed: ${(err as Error).message}`);
    const message = known ? (err as Error).message : 'internal error';
    const attempts = Math.max(...claimed.map((c) => c.attempts));
    // Transient: the provider said "later", or something on our side failed before it
    // answered (a database outage while reading the address): either way, try again.
    if (!(err instanceof PermanentError) && attempts < MAX_ATTEMPTS) {
      return { status: 'scheduled', error: message, retryAt: Date.now() + backoffMs(attempts) };
    }
    return { status: 'failed', error: message };
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

  private async sendEmail(userId: string, claimed: Claimed[]): Promise<Outcome> {
    const [user]: Array<{ email: string }> = await this.db.query(`SELECT email FROM users WHERE id = $1`, [userId]);
    if (!user) return { status: 'failed', error: 'the user no longer exists' };
    const token = this.tokens.sign(
      userId,
      claimed.map((c) => c.channel),
    );
    await this.mailer.send({
      to: user.email,
      notifications: claimed.map(toJson),
      unsubscribeUrl: `${this.config.delivery.publicUrl}/unsubscribe?token=${token}`,
    });
    return { status: 'sent', error: null };
  }

  /**
   * To every subscribed browser at once (at most MAX_BROWSERS_PER_USER); sent once any
   * browser's push service took it. Each endpoint is checked again here, by the same rules as
   * when it was stored: the rules or the allow-list may have changed, or the row came another way.
   */
  private async sendPush(userId: string, row: Claimed, signal: AbortSignal): Promise<Outcome> {
    const subs: Array<{ id: string; endpoint: string; p256dh: string; auth: string }> = await this.db.query(
      `SELECT id::text, endpoint, p256dh, auth FROM push_subscriptions WHERE user_id = $1
        ORDER BY push_subscriptions.id DESC LIMIT $2`,
      [userId, MAX_BROWSERS_PER_USER],
    );
    if (subs.length === 0) return { status: 'failed', error: 'no push subscription' };
    const payload = JSON.stringify(toJson(row));
    const answers = await Promise.all(
      subs.map(async (s): Promise<{ sent: true } | { transient: boolean; error: string }> => {
        let target: Target;
        try {
          target = pushTarget(s.endpoint, this.config.delivery.pushAllowlist);
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
    if (answers.some((a) => 'sent' in a)) return { status: 'sent', error: null };
    const failures = answers as Array<{ transient: boolean; error: string }>;
    const transient = failures.find((a) => a.transient);
    if (transient) throw new TransientError(transient.error);
    return { status: 'failed', error: failures[0].error };
  }
}
