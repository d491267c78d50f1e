import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { createRequire } from 'node:module';
import PgBoss from 'pg-boss';
import type { QueryRunner } from 'typeorm';
import type { DeliveryMethod } from '../../client/wire.js';
import { DATABASE_URL } from '../database/database.module.js';
import type { Tx } from '../database/transaction.js';

/**
 * Created by migrations (1796007500000-Deliveries, 1796008100000-DeliveryQueuePerMethod):
 * retryLimit 10, backoff from 1 s, expiry 60 s. A queue must exist before anything is sent to it
 * and pg-boss's partition DDL deadlocks when instances create queues at once, so a new delivery
 * method's queue comes with a migration too.
 */
export const QUEUES = {
  /** One keyset page of a broadcast's audience. */
  broadcast: 'escalate-broadcast',
  /**
   * Legacy: one user's due deliveries of either method, as versions before the queue per method
   * queued them. Only drained now (DeliveryService), for a rolling deploy's older instances.
   */
  deliver: 'deliver',
} as const;

/**
 * One user's due deliveries of one method (an email digest, or pushes): a queue per method, so
 * a slow push service never holds the workers that send email, nor the other way round.
 */
export const queueOf = (method: DeliveryMethod): string => `deliver-${method}`;

/** Jobs fetched at once; then more whenever a slot frees. */
const FETCH_BATCH = 25;

/**
 * Runs a queue's jobs, up to `concurrency` at a time, each completed (or failed, and retried by
 * pg-boss) on its own as soon as it ends. pg-boss's work() completes a fetched batch together:
 * one slow job held its whole batch, and the worker, until it ended.
 */
class Consumer<T> {
  private inFlight = 0;
  private readonly running = new Set<Promise<void>>();
  private stopped = false;
  private wake: (() => void) | null = null;
  private waitingForRoom = false;

  constructor(
    private readonly boss: PgBoss,
    private readonly queue: string,
    private readonly options: { concurrency: number; pollMs: number },
    private readonly handler: (data: T) => Promise<void>,
    private readonly logger: Logger,
  ) {}

  start(): void {
    void this.loop();
  }

  async stop(timeoutMs: number): Promise<void> {
    this.stopped = true;
    this.wake?.();
    const timeout = new Promise((r) => setTimeout(r, timeoutMs).unref());
    await Promise.race([Promise.allSettled([...this.running]), timeout]);
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const room = this.options.concurrency - this.inFlight;
      let fetched = 0;
      if (room > 0) {
        try {
          const jobs = await this.boss.fetch<T>(this.queue, { batchSize: Math.min(room, FETCH_BATCH) });
          fetched = jobs?.length ?? 0;
          for (const job of jobs ?? []) this.run(job);
        } catch (err) {
          this.logger.warn(`Fetching ${this.queue} jobs failed: ${(err as Error).message}`);
        }
        // A full batch: more may be waiting, and there may be room for them.
        if (fetched === Math.min(room, FETCH_BATCH) && !this.stopped) continue;
      }
      this.waitingForRoom = room - fetched <= 0;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.options.pollMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  private run(job: PgBoss.Job<T>): void {
    this.inFlight++;
    const done = this.handler(job.data)
      .then(
        () => this.boss.complete(this.queue, job.id),
        (err: Error) => {
          this.logger.warn(`${this.queue} job failed, retried later: ${err.message}`);
          return this.boss.fail(this.queue, job.id, { message: err.message });
        },
      )
      .catch((err: Error) => this.logger.warn(`pg-boss could not record a ${this.queue} job: ${err.message}`))
      .finally(() => {
        this.inFlight--;
        this.running.delete(done);
        // A slot is free: fetch at once rather than at the next poll.
        if (this.waitingForRoom) this.wake?.();
      });
    this.running.add(done);
  }
}

/**
 * pg-boss 10's workers call `complete()` / `fail()` without awaiting them
 * (src/manager.js, `onFetch`; timgit/pg-boss#577): a job that ends while the
 * database is away rejects with nobody listening, and Node ends the process
 * on an unhandled rejection — a database outage would take the instance down.
 * Every such promise gets a handler here (a caller that awaits it still sees
 * the error). The job stays active and is retried once it expires; the
 * deliveries table's claim keeps that from sending twice.
 */
function handleUnawaitedSettlements(logger: Logger): void {
  const require = createRequire(import.meta.url);
  const manager = (require('pg-boss/src/manager.js') as { prototype: Record<string, unknown> }).prototype;
  for (const name of ['complete', 'fail'] as const) {
    const original = manager[name] as (...args: unknown[]) => Promise<unknown>;
    if ((original as { handled?: true }).handled) continue;
    const wrapped = function (this: unknown, ...args: unknown[]) {
      const settled = original.apply(this, args);
      settled.catch((err: Error) => logger.warn(`pg-boss could not record a job as ${name}d: ${err.message}`));
      return settled;
    };
    manager[name] = Object.assign(wrapped, { handled: true as const });
  }
}

interface PgClient {
  query(text: string, values: unknown[]): Promise<{ rows: unknown[] }>;
}

/**
 * pg-boss, on the service's PostgreSQL: durable jobs shared by every instance
 * (SKIP LOCKED), retried with backoff. Its tables are created by a migration.
 */
@Injectable()
export class JobQueue implements OnApplicationShutdown {
  private readonly logger = new Logger('JobQueue');
  readonly boss: PgBoss;
  private started: Promise<void> | null = null;
  private readonly consumers: Array<Consumer<never>> = [];

  constructor(@Inject(DATABASE_URL) url: string) {
    this.boss = new PgBoss({
      connectionString: url,
      schema: 'pgboss',
      max: 4,
      application_name: 'notifications-jobs',
      // No cron here; supervision expires jobs of a killed instance so another retries them.
      schedule: false,
      supervise: true,
      maintenanceIntervalSeconds: 15,
      monitorStateIntervalSeconds: 60,
    });
    handleUnawaitedSettlements(this.logger);
    // A database restart surfaces here; pg-boss reconnects by itself.
    this.boss.on('error', (err) => this.logger.warn(`pg-boss: ${err.message}`));
  }

  start(): Promise<void> {
    // The queues (retries, backoff, expiry) are created by the migration that installs pg-boss.
    this.started ??= this.boss.start().then(() => undefined);
    return this.started;
  }

  /** Runs `handler` for each job of `queue`, up to `concurrency` at once (see Consumer). */
  consume<T>(queue: string, options: { concurrency: number; pollMs: number }, handler: (data: T) => Promise<void>) {
    const consumer = new Consumer<T>(this.boss, queue, options, handler, this.logger);
    this.consumers.push(consumer as Consumer<never>);
    consumer.start();
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.started) return;
    // Jobs in hand finish (or are retried elsewhere once they expire); nothing new is fetched.
    await Promise.all(this.consumers.map((c) => c.stop(10_000)));
    await this.boss.stop({ graceful: true, close: true, timeout: 10_000, wait: true }).catch(() => undefined);
  }

  /** pg-boss's `db` option for a TypeORM transaction: the job row commits or rolls back with it. */
  static async inTx(tx: Tx): Promise<PgBoss.Db> {
    const client = (await (tx.manager.queryRunner as QueryRunner).connect()) as PgClient;
    return { executeSql: (text, values) => client.query(text, values) as Promise<{ rows: unknown[] }> };
  }
}
