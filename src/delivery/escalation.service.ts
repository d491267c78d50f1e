import { Inject, Injectable, Logger } from '@nestjs/common';
import type PgBoss from 'pg-boss';
import { DataSource } from 'typeorm';
import type { DeliveryMethod } from '../../client/wire.js';
import { APP_CONFIG } from '../config/config.module.js';
import { groupBy } from '../common/group-by.js';
import type { AppConfig } from '../config/env.js';
import type { Tx } from '../database/transaction.js';
import type { Woken } from '../notifications/escalation-port.js';
import type { NotificationRow } from '../notifications/notification.types.js';
import { perKey } from '../notifications/notification.types.js';
import {
  methodEnabled,
  type PreferencesRow,
  quietHoursOf,
  type Toggles,
  togglesSql,
} from '../notifications/preferences.service.js';
import { asleepSql, unreadSql } from '../notifications/visibility.js';
import { JobQueue, QUEUES, queueOf } from './job-queue.js';
import { DeliveryMethods } from './port/delivery-methods.js';
import { type Candidate, plan, type PlannedDelivery } from './rules.js';
import { StreamMarks } from './stream-marks.js';

/** Users per broadcast page: one query, one insert and one job batch each. */
export const BROADCAST_PAGE = 1000;
/** How long a broadcast job pages through its audience before it hands the rest on (pg-boss expires a job at 60 s). */
const BROADCAST_PAGING_MS = 10_000;

export interface BroadcastJob {
  notificationId: string;
  methods: DeliveryMethod[];
  afterUserId: string;
}
/** The delivery log's reason for a send a snooze stopped (escalateWoken plans it again). */
export const SNOOZED = 'snoozed';

/** A send job: these users' due deliveries of one method (each user's due rows, whatever their notification). */
export interface DeliverJob {
  method: DeliveryMethod;
  userIds: string[];
}
/** A send job as instances before batched jobs queued it (a rolling deploy): one user. */
export interface LegacyDeliverJob {
  method: DeliveryMethod;
  userId: string;
}
/** Users per send job: a broadcast page's users of one due time go in a few jobs, spread over the instances. */
export const USERS_PER_SEND_JOB = 200;

type CandidateRow = PreferencesRow & {
  notification_id: string;
  user_id: string;
  channel: Candidate['channel'];
  severity: Candidate['severity'];
  read: boolean;
  streamed: boolean;
  toggles: Toggles | null;
  contacts: Record<DeliveryMethod, boolean>;
};

/** Send jobs for these users' rows of a method due at `at`: USERS_PER_SEND_JOB users each. */
export function sendJobs(method: DeliveryMethod, userIds: string[], at?: Date): PgBoss.JobInsert[] {
  const jobs: PgBoss.JobInsert[] = [];
  for (let i = 0; i < userIds.length; i += USERS_PER_SEND_JOB) {
    const data: DeliverJob = { method, userIds: userIds.slice(i, i + USERS_PER_SEND_JOB) };
    jobs.push({ name: queueOf(method), data, ...(at ? { startAfter: at } : {}) });
  }
  return jobs;
}

const PREFS = `p.muted_channels, p.quiet_start, p.quiet_end, p.quiet_tz`;

/**
 * From "committed" to "deliveries to send": decides, per (notification, user,
 * method), whether it goes out and when, and writes that decision into
 * `deliveries` (the source of truth) before any send job exists.
 */
@Injectable()
export class EscalationService {
  private readonly logger = new Logger('Escalation');
  /** From a notification's commit to its escalation. */
  readonly delayMs: number;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly db: DataSource,
    private readonly jobs: JobQueue,
    private readonly methods: DeliveryMethods,
    marks: StreamMarks,
  ) {
    // Stream marks reach the table within one flush interval: wait that much more.
    this.delayMs = config.delivery.escalateAfterMs + marks.flushMs;
  }

  /**
   * The methods go into the job, though the row has them too: a job queued by an instance
   * older than the row's `deliver` column (a rolling deploy) carries them only there.
   */
  async scheduleBroadcast(tx: Tx, row: NotificationRow): Promise<void> {
    const job: BroadcastJob = { notificationId: String(row.id), methods: row.deliver ?? [], afterUserId: '0' };
    await this.jobs.boss.send(QUEUES.broadcast, job, {
      startAfter: new Date(Date.now() + this.delayMs),
      db: await JobQueue.inTx(tx),
    });
  }

  /**
   * Decides and records the escalation of these personal notifications, then forgets
   * their stream marks (no longer needed). All of it, the send jobs included, commits or
   * rolls back with the cursor's scan (`tx`).
   */
  async escalatePersonal(ids: string[], tx: Tx): Promise<void> {
    const q = tx.manager;
    const rows: CandidateRow[] = await q.query(
      `SELECT n.id::text AS notification_id, n.user_id::text AS user_id, n.channel, n.severity, ${PREFS},
              NOT (${unreadSql('n.user_id')}) AS read,
              EXISTS (SELECT 1 FROM notification_streamed s WHERE s.notification_id = n.id AND s.user_id = n.user_id) AS streamed,
              ${togglesSql('n.user_id', 'n.channel')} AS toggles, ${this.methods.contactsSql('n.user_id')} AS contacts
         FROM notifications n LEFT JOIN notification_preferences p ON p.user_id = n.user_id
        WHERE n.id = ANY ($1::bigint[]) AND n.user_id IS NOT NULL
          -- Asleep: nothing now; it escalates when it wakes (escalateWoken).
          AND NOT ${asleepSql('n.user_id')}`,
      [ids],
    );
    await this.record(rows, this.methods.names, tx);
    await q.query(`DELETE FROM notification_streamed WHERE notification_id = ANY ($1::bigint[])`, [ids]);
  }

  /**
   * A broadcast's audience, a page at a time in user-id order (keyset): bounded time and memory
   * per page whatever the audience's size. A job pages on for BROADCAST_PAGING_MS, then hands
   * the rest to a job of its own (any instance takes it); a page per job would wait for
   * pg-boss's next poll each time. After the last page the broadcast's stream marks have served
   * and go. Re-running a job (after a crash) changes nothing for the pages it had done: their
   * rows exist already.
   */
  async escalateBroadcastPage(job: BroadcastJob): Promise<void> {
    const until = Date.now() + BROADCAST_PAGING_MS;
    let page = job;
    for (;;) {
      const last = await this.escalatePage(page);
      if (last === null) {
        // Every member's decision is recorded (or the broadcast expired or is gone): no page
        // reads these marks any more. Per page instead would miss the marks of members the
        // page query skips (disabled since).
        await this.db.query(`DELETE FROM notification_streamed WHERE notification_id = $1::bigint`, [
          page.notificationId,
        ]);
        return;
      }
      page = { ...page, afterUserId: last };
      if (Date.now() >= until) {
        await this.jobs.boss.send(QUEUES.broadcast, page);
        return;
      }
    }
  }

  /** One page of the audience after `afterUserId`: its decisions recorded; the last user's id if the page was full. */
  private async escalatePage(job: BroadcastJob): Promise<string | null> {
    const rows: CandidateRow[] = await this.db.query(
      `SELECT n.id::text AS notification_id, u.id::text AS user_id, n.channel, n.severity, ${PREFS},
              NOT (${unreadSql('u.id')}) AS read,
              EXISTS (SELECT 1 FROM notification_streamed s WHERE s.notification_id = n.id AND s.user_id = u.id) AS streamed,
              ${togglesSql('u.id', 'n.channel')} AS toggles, ${this.methods.contactsSql('u.id')} AS contacts
         FROM notifications n
         CROSS JOIN LATERAL (
           SELECT u.id FROM users u
            WHERE u.id > $2::bigint AND u.created_at <= n.created_at AND u.disabled_at IS NULL
              AND (n.audience_kind = 'all'
                   OR (n.audience_kind = 'role' AND u.role = n.audience_role)
                   OR (n.audience_kind = 'users' AND u.id = ANY (n.audience_user_ids)))
            ORDER BY u.id LIMIT $3) u
         LEFT JOIN notification_preferences p ON p.user_id = u.id
        WHERE n.id = $1::bigint AND n.user_id IS NULL AND (n.expires_at IS NULL OR n.expires_at > now())
          AND NOT ${asleepSql('u.id')}
        ORDER BY u.id`,
      [job.notificationId, job.afterUserId, BROADCAST_PAGE],
    );
    await this.record(rows, job.methods);
    return rows.length === BROADCAST_PAGE ? rows[rows.length - 1].user_id : null;
  }

  /**
   * Snoozed notifications that woke up escalate as if new: the escalation delay from now, by
   * the methods they would have had (personal: those the user enabled; a broadcast: its
   * `deliver`). What a snooze cancelled is planned again; what was sent stays sent (at most once).
   * In the wake-up's transaction.
   */
  async escalateWoken(tx: Tx, woken: Woken[]): Promise<void> {
    const q = tx.manager;
    const pairs = [woken.map((w) => w.userId), woken.map((w) => w.notificationId)];
    await q.query(
      `DELETE FROM deliveries d USING unnest($1::bigint[], $2::bigint[]) AS w(u, nid)
        WHERE d.user_id = w.u AND d.notification_id = w.nid AND d.status = 'cancelled' AND d.error = $3`,
      [...pairs, SNOOZED],
    );
    const rows: Array<CandidateRow & { deliver: DeliveryMethod[] | null }> = await q.query(
      `SELECT n.id::text AS notification_id, w.u::text AS user_id, n.channel, n.severity, ${PREFS},
              false AS read, false AS streamed, n.deliver,
              ${togglesSql('w.u', 'n.channel')} AS toggles, ${this.methods.contactsSql('w.u')} AS contacts
         FROM unnest($1::bigint[], $2::bigint[]) AS w(u, nid)
         JOIN notifications n ON n.id = w.nid
         LEFT JOIN notification_preferences p ON p.user_id = w.u
        WHERE n.user_id IS NOT NULL OR n.deliver IS NOT NULL`,
      pairs,
    );
    const at = Date.now() + this.delayMs;
    const byMethods = groupBy(rows, (r) => (r.deliver ?? this.methods.names).join(','));
    for (const [methods, group] of byMethods) await this.record(group, methods.split(',') as DeliveryMethod[], tx, at);
  }

  /** Store the decisions (idempotently) and queue a send job per user, method and due time (from `at`). */
  private async record(
    rows: CandidateRow[],
    methods: readonly DeliveryMethod[],
    tx?: Tx,
    at = Date.now(),
  ): Promise<void> {
    const now = at;
    const planned: PlannedDelivery[] = rows.flatMap((r) =>
      plan(
        {
          notificationId: r.notification_id,
          userId: r.user_id,
          channel: r.channel,
          severity: r.severity,
          muted: r.muted_channels ?? [],
          enabled: perKey(this.methods.names, (m) => methodEnabled(r.toggles, m)),
          quietHours: quietHoursOf(r),
          read: r.read,
          streamed: r.streamed,
          hasContact: r.contacts,
        },
        methods,
        now,
      ),
    );
    if (planned.length === 0) return;
    const q = tx?.manager ?? this.db;
    const inserted: Array<{ user_id: string; method: DeliveryMethod; status: string; not_before: Date }> =
      await q.query(
        `INSERT INTO deliveries (notification_id, user_id, method, status, not_before, error)
       SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::timestamptz[], $6::text[])
       ON CONFLICT (notification_id, user_id, method) DO NOTHING
       RETURNING user_id::text, method, status, not_before`,
        [
          planned.map((p) => p.notificationId),
          planned.map((p) => p.userId),
          planned.map((p) => p.method),
          planned.map((p) => p.status),
          planned.map((p) => new Date(p.notBefore)),
          planned.map((p) => p.reason),
        ],
      );
    // Rows that existed already (a re-run) have their jobs, or the rescue sweep finds them.
    const due = groupBy(
      inserted.filter((d) => d.status === 'scheduled'),
      (d) => `${d.method}:${d.not_before.getTime()}`,
    );
    const jobs = [...due.values()].flatMap((group) =>
      sendJobs(group[0].method, [...new Set(group.map((d) => d.user_id))], group[0].not_before),
    );
    if (jobs.length > 0) await this.jobs.boss.insert(jobs, tx ? { db: await JobQueue.inTx(tx) } : {});
    this.logger.debug(`Escalated ${rows.length} (notification, user) pairs: ${jobs.length} send jobs`);
  }
}
