import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import webpush, { WebPushError } from 'web-push';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/env.js';
import { NOTIFICATION_COLUMNS, type NotificationRow, toJson } from '../notifications/notification.types.js';
import { unreadSql } from '../notifications/visibility.js';
import type { DeliverJob } from './escalation.service.js';
import { JobQueue, QUEUES } from './job-queue.js';
import { Mailer, PermanentError, TransientError } from './mailer.js';
import { endpointAllowed } from './push-allowlist.js';
import { UnsubscribeTokens } from './unsubscribe-token.js';

/** Attempts per delivery: the first and four retries (1 s, 2 s, 4 s, 8 s apart, capped at 5 min). */
export const MAX_ATTEMPTS = 5;
const backoffMs = (attempt: number) => Math.min(300_000, 1000 * 2 ** (attempt - 1));
/** How long a push may keep the service waiting; the push service keeps an undelivered one for a day. */
const PUSH_TIMEOUT_MS = 15_000;
const PUSH_TTL_SECONDS = 24 * 3600;

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

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly db: DataSource,
    private readonly jobs: JobQueue,
  ) {
    this.mailer = new Mailer(config.delivery);
    this.tokens = new UnsubscribeTokens(config.sessionSecret);
  }

  onApplicationShutdown(): void {
    this.mailer.close();
  }

  async deliver(job: DeliverJob): Promise<void> {
    const { userId, method } = job;
    // Read meanwhile, or the method switched off (unsubscribe): nothing goes out.
    await this.db.query(
      `UPDATE deliveries d SET status = 'cancelled',
              error = CASE WHEN ${unreadSql('d.user_id')} THEN 'switched off before it was sent' ELSE 'read in time' END
         FROM notifications n LEFT JOIN notification_preferences p ON p.user_id = $1
        WHERE d.user_id = $1 AND d.method = $2 AND d.status = 'scheduled' AND n.id = d.notification_id
          AND (NOT (${unreadSql('d.user_id')})
               OR n.channel = ANY (CASE WHEN $2 = 'push' THEN p.push_off ELSE p.email_off END)
               OR (n.severity <> 'critical' AND n.channel = ANY (p.muted_channels)))`,
      [userId, method],
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
    let retryAt: number | null = null;
    for (const group of groups) {
      let outcome: Outcome;
      try {
        outcome = method === 'email' ? await this.sendEmail(userId, group) : await this.sendPush(userId, group[0]);
      } catch (err) {
        outcome = this.onError(err, group);
      }
      await this.record(group, outcome);
      if (outcome.retryAt) retryAt = Math.min(retryAt ?? Infinity, outcome.retryAt);
    }
    if (retryAt !== null) await this.jobs.boss.send(QUEUES.deliver, job, { startAfter: new Date(retryAt) });
  }

  private onError(err: unknown, claimed: Claimed[]): Outcome {
    const message = (err as Error).message.slice(0, 500);
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

  /** To every subscribed browser; sent once any browser's push service took it. */
  private async sendPush(userId: string, row: Claimed): Promise<Outcome> {
    const subs: Array<{ id: string; endpoint: string; p256dh: string; auth: string }> = await this.db.query(
      `SELECT id::text, endpoint, p256dh, auth FROM push_subscriptions WHERE user_id = $1 ORDER BY push_subscriptions.id`,
      [userId],
    );
    const { vapid, pushAllowlist } = this.config.delivery;
    const usable = subs.filter((s) => endpointAllowed(s.endpoint, pushAllowlist));
    if (usable.length === 0) return { status: 'failed', error: 'no push subscription' };
    let transient: string | null = null;
    let permanent: string | null = null;
    let anySent = false;
    const payload = JSON.stringify(toJson(row));
    for (const s of usable) {
      try {
        await webpush.sendNotification({ endpoint: s.endpoint, keys: { p256dh: s.p256dh, auth: s.auth } }, payload, {
          vapidDetails: vapid,
          TTL: PUSH_TTL_SECONDS,
          urgency: row.severity === 'critical' ? 'high' : 'normal',
          contentEncoding: 'aes128gcm',
          timeout: PUSH_TIMEOUT_MS,
        });
        anySent = true;
      } catch (err) {
        const status = err instanceof WebPushError ? err.statusCode : undefined;
        if (status === 404 || status === 410) {
          // The browser unsubscribed or the subscription expired: forget it.
          await this.db.query(`DELETE FROM push_subscriptions WHERE id = $1`, [s.id]);
          permanent = `push service answered ${status}: subscription removed`;
        } else if (status === undefined || status === 429 || status >= 500) {
          transient = status ? `push service answered ${status}` : (err as Error).message;
        } else {
          permanent = `push service answered ${status}`;
        }
      }
    }
    if (anySent) return { status: 'sent', error: null };
    if (transient) throw new TransientError(transient);
    return { status: 'failed', error: permanent };
  }
}
