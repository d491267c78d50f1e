import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/env.js';
import { groupBy } from '../common/group-by.js';
import type { DeliveryMethod } from '../../client/registry.js';
import { EscalationPort } from '../notifications/escalation-port.js';
import { PreferencesService } from '../notifications/preferences.service.js';
import { EscalationScanner } from './escalation-scanner.js';
import {
  type BroadcastJob,
  type DeliverJob,
  EscalationService,
  type LegacyDeliverJob,
  sendJobs,
} from './escalation.service.js';
import { JobQueue, QUEUES, queueOf } from './job-queue.js';
import { DeliveryMethods } from './port/delivery-methods.js';
import { SenderService } from './sender.service.js';
import { StreamMarks } from './stream-marks.js';

/**
 * Send jobs running per method and instance, each ended on its own. Their sends share the
 * method's SENDS_IN_FLIGHT slots (SenderService): what bounds the claims in flight.
 */
const SEND_JOBS_RUNNING = 50;
/** Idle polling of each send queue. */
const SEND_POLL_MS = 500;
/** The legacy "deliver" queue is only drained (see below): no hurry, and cheap when empty. */
const LEGACY_POLL_SECONDS = 5;

/**
 * Plugs delivery into the core (its EscalationPort, the preferences' check that a method
 * switched on has its contact) and runs the workers, the escalation scanner and the sweep.
 * The sweep, on every instance (each statement is idempotent):
 * - a claim older than the claim timeout belongs to a process that died
 *   mid-send: it becomes failed, "outcome unknown", and is never sent again;
 * - due rows nobody claimed for that long (their job died with an instance
 *   before claiming) get a new send job.
 */
@Injectable()
export class DeliveryService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Delivery');
  private sweepTimer: NodeJS.Timeout | null = null;
  private readonly unplug: Array<() => void> = [];
  private readonly claimTimeoutMs: number;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly db: DataSource,
    private readonly port: EscalationPort,
    private readonly jobs: JobQueue,
    private readonly escalation: EscalationService,
    private readonly scanner: EscalationScanner,
    private readonly sender: SenderService,
    private readonly marks: StreamMarks,
    private readonly methods: DeliveryMethods,
    private readonly preferences: PreferencesService,
  ) {
    this.claimTimeoutMs = config.delivery.claimTimeoutMs;
  }

  async onApplicationBootstrap(): Promise<void> {
    const marks = this.port.streamed$.subscribe((s) => this.marks.mark(s.notificationId, s.userId));
    this.unplug.push(
      () => marks.unsubscribe(),
      this.port.onBroadcast((tx, row) => this.escalation.scheduleBroadcast(tx, row)),
      this.preferences.onEnable((userId, methods) => this.withoutContact(userId, methods)),
      this.port.onWoken((tx, woken) => this.escalation.escalateWoken(tx, woken)),
    );
    await this.jobs.start();
    const boss = this.jobs.boss;
    const polling = { pollingIntervalSeconds: 0.5 };
    await boss.work<BroadcastJob>(QUEUES.broadcast, polling, async ([job]) =>
      this.escalation.escalateBroadcastPage(job.data),
    );
    const send = { concurrency: SEND_JOBS_RUNNING, pollMs: SEND_POLL_MS };
    for (const method of this.methods.names) {
      this.jobs.consume<DeliverJob>(queueOf(method), send, (job) => this.sender.deliver(job));
    }
    // Jobs that instances before the queue per method queued (a rolling deploy) carry their
    // method: the same handler sends them. Once the queue stays empty this can go.
    this.jobs.consume<LegacyDeliverJob>(
      QUEUES.deliver,
      { concurrency: 10, pollMs: LEGACY_POLL_SECONDS * 1000 },
      (job) => this.sender.deliver(job),
    );
    this.scanner.start();
    const every = Math.max(1000, Math.min(30_000, Math.floor(this.claimTimeoutMs / 4)));
    this.sweepTimer = setInterval(() => void this.sweep(), every);
    this.sweepTimer.unref();
  }

  onApplicationShutdown(): void {
    for (const off of this.unplug.splice(0)) off();
    if (this.sweepTimer) clearInterval(this.sweepTimer);
  }

  /** Of these methods, those the user may not switch on yet (no contact), with the reason. */
  private async withoutContact(userId: string, methods: DeliveryMethod[]): Promise<Map<DeliveryMethod, string>> {
    const refused = new Map<DeliveryMethod, string>();
    const needing = this.methods.needingContact(methods);
    if (needing.length === 0) return refused;
    const [{ contacts }]: Array<{ contacts: Record<DeliveryMethod, boolean> }> = await this.db.query(
      `SELECT ${this.methods.contactsSql('$1::bigint')} AS contacts`,
      [userId],
    );
    for (const p of needing) if (!contacts[p.method]) refused.set(p.method, p.contactNeededToEnable!);
    return refused;
  }

  async sweep(): Promise<{ unknown: number; rescued: number }> {
    try {
      // (TypeORM answers an UPDATE with [rows, count].)
      const [, n]: [unknown[], number] = await this.db.query(
        `UPDATE deliveries SET status = 'failed',
                error = 'outcome unknown: the sending process stopped between claim and answer; not retried, to never send twice'
          WHERE status = 'sending' AND claimed_at < now() - make_interval(secs => $1 / 1000.0)
          RETURNING id`,
        [this.claimTimeoutMs],
      );
      const stale: Array<{ user_id: string; method: DeliveryMethod }> = await this.db.query(
        `SELECT DISTINCT user_id::text, method FROM deliveries
          WHERE status = 'scheduled' AND not_before < now() - make_interval(secs => $1 / 1000.0)
          LIMIT 1000`,
        [this.claimTimeoutMs],
      );
      const jobs = [...groupBy(stale, (s) => s.method)].flatMap(([method, group]) =>
        sendJobs(
          method,
          group.map((s) => s.user_id),
        ),
      );
      if (jobs.length > 0) await this.jobs.boss.insert(jobs);
      await this.marks.forgetExpired();
      if (n > 0) this.logger.warn(`${n} deliveries failed with outcome unknown (process died mid-send)`);
      return { unknown: n, rescued: stale.length };
    } catch (err) {
      this.logger.warn(`Delivery sweep failed: ${(err as Error).message}`);
      return { unknown: 0, rescued: 0 };
    }
  }
}
