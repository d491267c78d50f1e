import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/env.js';

/**
 * "Written to an open stream of this user", recorded cheaply: the hub's hook
 * only appends to two arrays; once per flush interval (1 s, shorter when
 * ESCALATE_AFTER_MS is short) one INSERT stores the batch for every instance
 * to see. A mark lost with a killed instance can only cause an extra email,
 * never a missing one.
 */
@Injectable()
export class StreamMarks implements OnApplicationShutdown {
  private readonly logger = new Logger('StreamMarks');
  private notificationIds: string[] = [];
  private userIds: string[] = [];
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  /** The escalation waits this much longer than ESCALATE_AFTER_MS, so marks have been flushed. */
  readonly flushMs: number;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly db: DataSource,
  ) {
    this.flushMs = Math.max(50, Math.min(1000, Math.floor(config.delivery.escalateAfterMs / 4)));
    this.timer = setInterval(() => void this.flush(), this.flushMs);
    this.timer.unref();
  }

  mark(notificationId: string, userId: string): void {
    this.notificationIds.push(notificationId);
    this.userIds.push(userId);
  }

  flush(): Promise<void> {
    if (this.notificationIds.length === 0) return this.flushing;
    const n = this.notificationIds;
    const u = this.userIds;
    this.notificationIds = [];
    this.userIds = [];
    this.flushing = this.flushing.then(async () => {
      try {
        // The joins skip a notification deleted by retention (or a user deleted) meanwhile.
        await this.db.query(
          `INSERT INTO notification_streamed (notification_id, user_id)
           SELECT x.n, x.u FROM unnest($1::bigint[], $2::bigint[]) AS x(n, u)
             JOIN notifications ON notifications.id = x.n JOIN users ON users.id = x.u
           ON CONFLICT DO NOTHING`,
          [n, u],
        );
      } catch (err) {
        this.logger.warn(`Dropped ${n.length} stream marks: ${(err as Error).message}`);
      }
    });
    return this.flushing;
  }

  /**
   * Marks have no key into notifications (one would cost each mark a lookup in the partitioned
   * table and a lock on the row): those of notifications that retention dropped go here, the
   * marks of replayed notifications that had escalated already among them.
   */
  async forgetExpired(): Promise<void> {
    await this.db.query(
      `DELETE FROM notification_streamed WHERE notification_id <= (SELECT deleted_up_to FROM notification_retention)`,
    );
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
