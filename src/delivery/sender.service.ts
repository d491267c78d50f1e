import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DELIVERY_METHOD_INFO, type DeliveryMethod } from '../../client/registry.js';
import { NotificationActivity } from '../notifications/activity.js';
import { groupBy } from '../common/group-by.js';
import { NOTIFICATION_COLUMNS, type NotificationRow } from '../notifications/notification.types.js';
import { methodEnabledSql } from '../notifications/preferences.service.js';
import { asleepSql, unreadSql } from '../notifications/visibility.js';
import { DeliveryOutcomes, type Outcome } from './delivery-outcomes.js';
import { type DeliverJob, type LegacyDeliverJob, SNOOZED, sendJobs } from './escalation.service.js';
import { JobQueue } from './job-queue.js';
import { type DeliveryMethodPlugin, PermanentError, type Recipient, TransientError } from './port/delivery-method.js';
import { DeliveryMethods } from './port/delivery-methods.js';
import { SendSlots } from './send-slots.js';

/** Attempts per delivery: the first and four retries (1 s, 2 s, 4 s, 8 s apart, capped at 5 min). */
export const MAX_ATTEMPTS = 5;
const backoffMs = (attempt: number) => Math.min(300_000, 1000 * 2 ** (attempt - 1));
/**
 * One user's send time, its requests included: then what is still in flight is cancelled (its
 * sockets destroyed) and retried later.
 */
const SEND_BUDGET_MS = 30_000;
/**
 * A job claims users for this long, then hands the rest to a new job: with the sends' budget,
 * under pg-boss's 60 s expiry and well under the claim timeout.
 */
const CLAIMING_MS = 20_000;
/**
 * Sends in flight per method and instance (users whose rows are claimed and not yet recorded),
 * over all its jobs: a slow destination holds one of these, never another method's. More would
 * only wait inside the SMTP pool or the outbound slots, and every claim in flight becomes
 * "outcome unknown" if the instance is killed.
 */
export const SENDS_IN_FLIGHT = 50;
/** Users claimed by one statement at least (when a job has that many left): fewer claims, as free slots allow. */
const CLAIM_GROUP = 25;

type Claimed = NotificationRow & {
  delivery_id: string;
  attempts: number;
  recipient_id: string;
  recipient_email: string;
  recipient_locale: string;
  recipient_time_zone: string | null;
};

/**
 * Sends the due deliveries of one method for a job's users, by its plug-in. A user's rows are
 * claimed once a send slot is theirs (scheduled → sending, a conditional UPDATE for a group of
 * users: of two instances only one gets a row), sent, and the outcome recorded right after the
 * provider's answer (grouped with others that ended meanwhile). A claim whose process died is
 * never sent again: the sweep marks it failed, "outcome unknown" (docs/delivery.md).
 */
@Injectable()
export class SenderService {
  private readonly logger = new Logger('Sender');
  private readonly slots = new Map<DeliveryMethod, SendSlots>();
  private readonly outcomes: DeliveryOutcomes;

  constructor(
    private readonly db: DataSource,
    private readonly jobs: JobQueue,
    private readonly methods: DeliveryMethods,
    private readonly activity: NotificationActivity,
  ) {
    this.outcomes = new DeliveryOutcomes(db);
    for (const m of methods.names) this.slots.set(m, new SendSlots(SENDS_IN_FLIGHT, CLAIM_GROUP));
  }

  async deliver(job: DeliverJob | LegacyDeliverJob): Promise<void> {
    const { method } = job;
    const plugin = this.methods.get(method);
    const slots = this.slots.get(method)!;
    const pending = [...new Set('userIds' in job ? job.userIds : [job.userId])];
    const until = Date.now() + CLAIMING_MS;
    const sends: Array<Promise<{ userId: string; retryAt: number | null }>> = [];
    let failure: unknown = null;
    while (pending.length > 0 && failure === null) {
      // Slots may take long to free (slow destinations): the time is checked once they have.
      const taken = Date.now() > until ? 0 : await slots.take(pending.length);
      if (Date.now() > until) {
        slots.give(taken);
        await this.jobs.boss.insert(sendJobs(method, pending));
        break;
      }
      const users = pending.splice(0, taken);
      let byUser: Map<string, Claimed[]>;
      try {
        byUser = await this.claim(users, method);
      } catch (err) {
        // The database failed us before anything was claimed: the job is retried (pg-boss).
        slots.give(taken);
        failure = err;
        break;
      }
      slots.give(taken - byUser.size);
      if (byUser.size === 0) continue;
      const contacts = plugin.contactsOf?.([...byUser.keys()]) ?? Promise.resolve(undefined);
      contacts.catch(() => undefined); // each send sees the failure (a transient one)
      for (const [userId, claimed] of byUser) {
        sends.push(
          this.sendUser(plugin, userId, claimed, contacts)
            .then((retryAt) => ({ userId, retryAt }))
            .finally(() => slots.give(1)),
        );
      }
    }
    const ended = await Promise.allSettled(sends);
    const retrying: Array<{ userId: string; retryAt: number }> = [];
    for (const e of ended) {
      if (e.status === 'rejected') failure ??= e.reason;
      else if (e.value.retryAt !== null) retrying.push({ userId: e.value.userId, retryAt: e.value.retryAt });
    }
    // Retried together when due: a job at the second after each member's own time.
    const retries = groupBy(retrying, (r) => Math.ceil(r.retryAt / 1000) * 1000);
    const later = [...retries].flatMap(([at, rs]) =>
      sendJobs(
        method,
        rs.map((r) => r.userId),
        new Date(at),
      ),
    );
    if (later.length > 0) await this.jobs.boss.insert(later);
    if (failure !== null) throw failure;
  }

  /**
   * Cancels what need not go out any more (read meanwhile, snoozed, the method switched off or
   * the channel muted), then claims these users' due rows, with each one's address and locale.
   * Rows another statement holds are skipped, not waited for: it is claiming or cancelling them.
   */
  private async claim(userIds: string[], method: DeliveryMethod): Promise<Map<string, Claimed[]>> {
    await this.db.query(
      `UPDATE deliveries d SET status = 'cancelled',
              error = CASE WHEN ${asleepSql('d.user_id')} THEN $3
                           WHEN ${unreadSql('d.user_id')} THEN 'switched off before it was sent' ELSE 'read in time' END
         FROM notifications n
        WHERE d.id IN (SELECT id FROM deliveries WHERE user_id = ANY ($1::bigint[]) AND method = $2
                          AND status = 'scheduled' FOR UPDATE SKIP LOCKED)
          AND n.id = d.notification_id
          AND (NOT (${unreadSql('d.user_id')})
               OR ${asleepSql('d.user_id')}
               OR NOT ${methodEnabledSql('d.user_id', 'n.channel', '$2', '$4::bool')}
               OR (n.severity <> 'critical' AND n.channel = ANY (COALESCE(
                     (SELECT p.muted_channels FROM notification_preferences p WHERE p.user_id = d.user_id), '{}'))))`,
      [userIds, method, SNOOZED, DELIVERY_METHOD_INFO[method].enabledByDefault],
    );
    // (TypeORM answers an UPDATE with [rows, count].)
    const [claimed]: [Claimed[], number] = await this.db.query(
      `UPDATE deliveries d SET status = 'sending', attempts = d.attempts + 1, claimed_at = now()
         FROM notifications n, users u LEFT JOIN notification_preferences p ON p.user_id = u.id
        WHERE d.id IN (SELECT id FROM deliveries WHERE user_id = ANY ($1::bigint[]) AND method = $2
                          AND status = 'scheduled' AND not_before <= now() FOR UPDATE SKIP LOCKED)
          AND n.id = d.notification_id AND u.id = d.user_id
        RETURNING d.id::text AS delivery_id, d.attempts, d.user_id::text AS recipient_id,
                  u.email AS recipient_email, u.locale AS recipient_locale, p.quiet_tz AS recipient_time_zone,
                  ${NOTIFICATION_COLUMNS}`,
      [userIds, method],
    );
    return groupBy(
      claimed.sort((a, b) => Number(a.id) - Number(b.id)),
      (c) => c.recipient_id,
    );
  }

  /** One user's claimed rows, as the plug-in groups them; resolves with when to retry, if at all. */
  private async sendUser(
    plugin: DeliveryMethodPlugin,
    userId: string,
    claimed: Claimed[],
    contacts: Promise<Map<string, unknown> | undefined>,
  ): Promise<number | null> {
    const [first] = claimed;
    const recipient: Recipient = {
      email: first.recipient_email,
      locale: first.recipient_locale,
      timeZone: first.recipient_time_zone,
    };
    const groups = plugin.grouping === 'digest' ? [claimed] : claimed.map((c) => [c]);
    const signal = AbortSignal.timeout(SEND_BUDGET_MS);
    let retryAt: number | null = null;
    for (const rows of groups) {
      let outcome: Outcome;
      try {
        const contact = (await contacts)?.get(userId);
        const sent = await plugin.send({ userId, recipient, contact, rows, signal });
        outcome = sent.status === 'sent' ? { status: 'sent', error: null } : { status: 'failed', error: sent.error };
      } catch (err) {
        outcome = this.onError(plugin.method, err, rows);
      }
      await this.outcomes.record(
        rows.map((r) => r.delivery_id),
        outcome,
      );
      this.tell(userId, plugin.method, rows, outcome);
      if (outcome.retryAt) retryAt = Math.min(retryAt ?? Infinity, outcome.retryAt);
    }
    return retryAt;
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
}
