import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { setMaxListeners } from 'node:events';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/env.js';
import { JobQueue } from '../delivery/job-queue.js';
import { Outbound } from '../outbound/outbound.module.js';
import { retryAfterMs } from '../outbound/outbound-client.js';
import { OutboundError } from '../outbound/outbound-error.js';
import type { UrlRules } from '../outbound/target.js';
import { signatureHeader } from './signature.js';
import { type DrainJob, WEBHOOK_QUEUE, WebhookQueue } from './webhook-queue.js';
import { webhookUrlRules } from './webhooks.service.js';

/** A 2xx within this long delivers a message (the contract's 15 s). */
export const ANSWER_TIMEOUT_MS = 15_000;
/** Messages of one webhook in flight at once per instance: a slow receiver holds these, nobody else's. */
const PER_WEBHOOK_IN_FLIGHT = 8;
/** Drain jobs (one webhook each) running at once per instance. */
const DRAINS_IN_FLIGHT = 20;
/** A drain gives its slot back after this long and queues the rest, so that busy webhooks take turns. */
const DRAIN_BUDGET_MS = 30_000;
/** A claim older than this belongs to an instance that died mid-send: the message is pending again. */
const CLAIM_TIMEOUT_MS = 60_000;
/** How often each instance sweeps; and how late a due message may be before the sweep queues it. */
const SWEEP_MS = 5_000;
/** Finished messages older than RETENTION_DAYS are deleted this often, a batch at a time. */
const PRUNE_EVERY_SWEEPS = 720;
const PRUNE_BATCH = 10_000;

interface Claimed {
  id: string;
  msg_id: string;
  body: string;
  attempts: number;
}

interface Hook {
  url: string;
  enabled: boolean;
  secret: string;
  previous_secret: string | null;
}

interface Outcome {
  id: string;
  attempt: number;
  status: 'delivered' | 'pending' | 'failed';
  statusCode: number | null;
  error: string | null;
  retryAt: Date | null;
  durationMs: number;
}

/**
 * Sends webhook messages. A drain job claims up to PER_WEBHOOK_IN_FLIGHT of one webhook's due
 * messages (pending → sending, SKIP LOCKED: instances never claim the same one), posts them
 * signed, records each outcome with a row in the attempts log, and goes on while more are due.
 * One drain per webhook runs at a time on an instance (a job for a webhook being drained only
 * asks for another round), so a dead receiver holds one drain slot and its own
 * PER_WEBHOOK_IN_FLIGHT requests, never another webhook's. The sweep makes it at least once:
 * claims of a dead instance go back to pending, and due messages without a job get one.
 */
@Injectable()
export class WebhookSender implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('Webhooks');
  private readonly rules: UrlRules;
  private readonly schedule: readonly number[];
  private readonly retentionDays: number;
  private sweeps = 0;
  private readonly draining = new Set<string>();
  private readonly again = new Set<string>();
  private readonly stopping = new AbortController();
  private sweepTimer: NodeJS.Timeout | null = null;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly db: DataSource,
    private readonly jobs: JobQueue,
    private readonly queue: WebhookQueue,
    private readonly outbound: Outbound,
  ) {
    this.rules = webhookUrlRules(config);
    this.schedule = config.webhooks.retryScheduleMs;
    this.retentionDays = config.retentionDays;
    // Every request in flight listens to it.
    setMaxListeners(0, this.stopping.signal);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.jobs.start();
    this.jobs.consume<DrainJob>(WEBHOOK_QUEUE, { concurrency: DRAINS_IN_FLIGHT, pollMs: 200 }, (job) =>
      this.drain(job.webhookId),
    );
    this.sweepTimer = setInterval(() => void this.sweep(), SWEEP_MS);
    this.sweepTimer.unref();
  }

  /** Requests in flight end now (recorded as to be retried), before the job queue waits for its jobs. */
  beforeApplicationShutdown(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.stopping.abort();
  }

  onApplicationShutdown(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
  }

  /** Sends the webhook's due messages, round after round, until none is due or the budget is spent. */
  async drain(webhookId: string): Promise<void> {
    if (this.draining.has(webhookId)) {
      this.again.add(webhookId);
      return;
    }
    this.draining.add(webhookId);
    const until = Date.now() + DRAIN_BUDGET_MS;
    try {
      for (;;) {
        this.again.delete(webhookId);
        const sent = await this.round(webhookId);
        if (this.stopping.signal.aborted) return;
        if (sent === 0 && !this.again.has(webhookId)) break;
        if (Date.now() > until) {
          await this.queue.wake([webhookId]);
          break;
        }
      }
      // The next retry of its messages; those due already (another instance holds them) are the sweep's.
      const [next]: Array<{ at: Date | null }> = await this.db.query(
        `SELECT min(m.next_attempt_at) AS at FROM webhook_messages m JOIN webhooks w ON w.id = m.webhook_id AND w.enabled
          WHERE m.webhook_id = $1 AND m.status = 'pending' AND m.next_attempt_at > now()`,
        [webhookId],
      );
      if (next?.at) await this.queue.wake([webhookId], next.at);
    } finally {
      this.draining.delete(webhookId);
    }
  }

  /** One round: claims, sends and records up to PER_WEBHOOK_IN_FLIGHT messages; answers how many. */
  private async round(webhookId: string): Promise<number> {
    const [hook]: Hook[] = await this.db.query(
      `SELECT url, enabled, secret, CASE WHEN previous_until > now() THEN previous_secret END AS previous_secret
         FROM webhooks WHERE id = $1`,
      [webhookId],
    );
    // Gone (its messages with it) or disabled: its messages wait until it is enabled again.
    if (!hook?.enabled) return 0;
    const [claimed]: [Claimed[], number] = await this.db.query(
      `UPDATE webhook_messages m SET status = 'sending', attempts = m.attempts + 1, claimed_at = now()
        WHERE m.id IN (SELECT id FROM webhook_messages
                        WHERE webhook_id = $1 AND status = 'pending' AND next_attempt_at <= now()
                        ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
        RETURNING m.id::text, m.msg_id, m.body, m.attempts`,
      [webhookId, PER_WEBHOOK_IN_FLIGHT],
    );
    if (claimed.length === 0) return 0;
    const secrets = hook.previous_secret ? [hook.secret, hook.previous_secret] : [hook.secret];
    const outcomes = await Promise.all(claimed.map((m) => this.send(hook.url, secrets, m)));
    await this.record(outcomes);
    if (outcomes.some((o) => o.statusCode === 410)) {
      await this.db.query(
        `UPDATE webhooks SET enabled = false, disabled_reason = 'the receiver answered 410 Gone', updated_at = now()
          WHERE id = $1`,
        [webhookId],
      );
    }
    return claimed.length;
  }

  private async send(url: string, secrets: string[], m: Claimed): Promise<Outcome> {
    const started = Date.now();
    const outcome = (status: Outcome['status'], statusCode: number | null, error: string | null): Outcome => ({
      id: m.id,
      attempt: m.attempts,
      status,
      statusCode,
      error,
      retryAt: null,
      durationMs: Date.now() - started,
    });
    const retry = (statusCode: number | null, error: string | null, laterMs = 0): Outcome => {
      // attempts counts this one: the first retry waits schedule[0].
      const wait = this.schedule[m.attempts - 1];
      if (wait === undefined) return outcome('failed', statusCode, error);
      return { ...outcome('pending', statusCode, error), retryAt: new Date(Date.now() + Math.max(wait, laterMs)) };
    };
    try {
      // Checked again at every attempt: the rules or the allow-list may have changed, and the
      // request's own lookup refuses private addresses at connection time (DNS rebinding).
      const target = this.outbound.check(url, this.rules);
      const timestamp = Math.floor(Date.now() / 1000);
      const res = await this.outbound.request(target, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'notifications-webhooks/1',
          'webhook-id': m.msg_id,
          'webhook-timestamp': timestamp,
          'webhook-signature': signatureHeader(secrets, m.msg_id, timestamp, m.body),
        },
        body: m.body,
        timeoutMs: ANSWER_TIMEOUT_MS,
        signal: this.stopping.signal,
        maxResponseBytes: 1024,
      });
      if (res.status >= 200 && res.status < 300) return outcome('delivered', res.status, null);
      if (res.status === 410) return outcome('failed', 410, 'the receiver answered 410 Gone: webhook disabled');
      return retry(res.status, null, retryAfterMs(res.headers) ?? 0);
    } catch (err) {
      // Cut off by this instance's shutdown: due again at once (on whichever instance).
      if (this.stopping.signal.aborted) return { ...outcome('pending', null, 'cancelled'), retryAt: new Date() };
      if (!(err instanceof OutboundError)) this.logger.warn(`Webhook send failed: ${(err as Error).message}`);
      return retry(null, err instanceof OutboundError ? err.category : 'internal error');
    }
  }

  /** Every outcome of a round and its attempts-log rows, in one statement. */
  private async record(outcomes: Outcome[]): Promise<void> {
    await this.db.query(
      `WITH o AS (
         SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::int[], $5::text[], $6::timestamptz[], $7::int[])
           AS o(id, attempt, status, status_code, error, retry_at, duration_ms)),
       upd AS (
         UPDATE webhook_messages m SET status = o.status, last_status_code = o.status_code, last_error = o.error,
                next_attempt_at = COALESCE(o.retry_at, m.next_attempt_at),
                delivered_at = CASE WHEN o.status = 'delivered' THEN now() END
           FROM o WHERE m.id = o.id AND m.status = 'sending')
       INSERT INTO webhook_attempts (message_id, attempt, status_code, error, duration_ms)
       SELECT o.id, o.attempt, o.status_code, o.error, o.duration_ms FROM o`,
      [
        outcomes.map((o) => o.id),
        outcomes.map((o) => o.attempt),
        outcomes.map((o) => o.status),
        outcomes.map((o) => o.statusCode),
        outcomes.map((o) => o.error),
        outcomes.map((o) => o.retryAt),
        outcomes.map((o) => o.durationMs),
      ],
    );
  }

  /** Delivered and failed messages past RETENTION_DAYS, as notifications are; answers how many went. */
  async prune(): Promise<number> {
    let total = 0;
    for (;;) {
      const [, n]: [unknown[], number] = await this.db.query(
        `DELETE FROM webhook_messages WHERE id IN (
           SELECT id FROM webhook_messages
            WHERE created_at < now() - make_interval(days => $1) AND status IN ('delivered', 'failed')
            LIMIT $2)
         RETURNING id`,
        [this.retentionDays, PRUNE_BATCH],
      );
      total += n;
      if (n < PRUNE_BATCH) return total;
    }
  }

  /** Claims of a dead instance go back to pending; due messages that no job came for get one. */
  async sweep(): Promise<void> {
    try {
      const [abandoned]: [Array<{ webhook_id: string }>, number] = await this.db.query(
        `UPDATE webhook_messages SET status = 'pending', next_attempt_at = now()
          WHERE status = 'sending' AND claimed_at < now() - make_interval(secs => $1 / 1000.0)
          RETURNING webhook_id::text`,
        [CLAIM_TIMEOUT_MS],
      );
      const late: Array<{ webhook_id: string }> = await this.db.query(
        `SELECT DISTINCT m.webhook_id::text FROM webhook_messages m JOIN webhooks w ON w.id = m.webhook_id AND w.enabled
          WHERE m.status = 'pending' AND m.next_attempt_at < now() - make_interval(secs => $1 / 1000.0)
          LIMIT 1000`,
        [SWEEP_MS],
      );
      const ids = new Set([...abandoned, ...late].map((m) => m.webhook_id));
      await this.queue.wake([...ids].filter((id) => !this.draining.has(id)));
      if (this.sweeps++ % PRUNE_EVERY_SWEEPS === 0) await this.prune();
    } catch (err) {
      this.logger.warn(`Webhook sweep failed: ${(err as Error).message}`);
    }
  }
}
