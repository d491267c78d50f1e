import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/env.js';
import { NotificationPartitions } from './partitions.js';

const EVERY_MS = 60 * 60 * 1000;
/** Partitions ahead are checked more often: two of them must outlast a burst of publishing. */
const AHEAD_EVERY_MS = 60 * 1000;

/**
 * Removes notifications older than RETENTION_DAYS by whole partitions (src/notifications/partitions.ts):
 * an id *prefix*, recorded in notification_retention so that a stream resuming from below it is
 * told `reset: history-truncated`. A notification lives until its partition's newest one expires.
 * Also keeps partitions created ahead of the ids. Safe on several instances at once.
 */
@Injectable()
export class RetentionService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Retention');
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly db: DataSource,
    private readonly partitions: NotificationPartitions,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    const warn = (e: Error) => this.logger.warn(e.message);
    this.timers.push(
      setInterval(() => void this.run().catch(warn), EVERY_MS),
      setInterval(() => void this.partitions.createAhead().catch(warn), AHEAD_EVERY_MS),
      setTimeout(() => void this.run().catch(warn), 10_000),
    );
    for (const timer of this.timers) timer.unref();
  }

  onModuleDestroy(): void {
    for (const timer of this.timers) clearTimeout(timer);
  }

  /** Answers the names of the partitions dropped. */
  async run(days = this.config.retentionDays): Promise<string[]> {
    // First: a drop that gives way to a busy table must not keep expired sessions too.
    await this.db.query(`DELETE FROM sessions WHERE expire < now()`);
    await this.partitions.createAhead();
    return this.partitions.dropExpired(days);
  }
}
