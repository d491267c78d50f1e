import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { createRequire } from 'node:module';
import PgBoss from 'pg-boss';
import type { QueryRunner } from 'typeorm';
import { DATABASE_URL } from '../database/database.module.js';
import type { Tx } from '../database/transaction.js';

/** Created by migrations/1796007500000-Deliveries.ts (retryLimit 10, backoff from 1 s, expiry 60 s). */
export const QUEUES = {
  /** One keyset page of a broadcast's audience. */
  broadcast: 'escalate-broadcast',
  /** One user's due deliveries of one method (an email digest, or pushes). */
  deliver: 'deliver',
} as const;

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

  async onApplicationShutdown(): Promise<void> {
    if (!this.started) return;
    // Jobs in hand finish (or are retried elsewhere once they expire); nothing new is fetched.
    await this.boss.stop({ graceful: true, close: true, timeout: 10_000, wait: true }).catch(() => undefined);
  }

  /** pg-boss's `db` option for a TypeORM transaction: the job row commits or rolls back with it. */
  static async inTx(tx: Tx): Promise<PgBoss.Db> {
    const client = (await (tx.manager.queryRunner as QueryRunner).connect()) as PgClient;
    return { executeSql: (text, values) => client.query(text, values) as Promise<{ rows: unknown[] }> };
  }
}
