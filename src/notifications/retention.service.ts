import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/env.js';

const EVERY_MS = 60 * 60 * 1000;
const BATCH = 10_000;

/**
 * Deletes notifications older than RETENTION_DAYS. It removes an id *prefix*
 * (everything up to the newest expired id), in batches so no statement holds
 * locks for long, and records how far it went: a stream resuming from below
 * that point is told `reset: history-truncated`. Safe on several instances at
 * once (they delete the same rows; GREATEST keeps the watermark monotonic).
 */
@Injectable()
export class RetentionService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Retention');
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.run().catch((e: Error) => this.logger.warn(e.message)), EVERY_MS);
    this.timer.unref();
    setTimeout(() => void this.run().catch((e: Error) => this.logger.warn(e.message)), 10_000).unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Returns how many notifications were deleted. */
  async run(days = this.config.retentionDays): Promise<number> {
    const [{ upto }]: Array<{ upto: string | null }> = await this.db.query(
      `SELECT max(id)::text AS upto FROM notifications WHERE created_at < now() - make_interval(days => $1)`,
      [days],
    );
    if (upto === null) return 0;
    await this.db.query(`UPDATE notification_retention SET deleted_up_to = GREATEST(deleted_up_to, $1)`, [upto]);
    let total = 0;
    for (;;) {
      const deleted: Array<{ id: string }> = await this.db.query(
        `DELETE FROM notifications WHERE id IN (SELECT id FROM notifications WHERE id <= $1 ORDER BY id LIMIT ${BATCH}) RETURNING id`,
        [upto],
      );
      total += deleted.length;
      if (deleted.length < BATCH) break;
    }
    if (total > 0) this.logger.log(`Deleted ${total} notifications older than ${days} days`);
    await this.db.query(`DELETE FROM sessions WHERE expire < now()`);
    return total;
  }
}
