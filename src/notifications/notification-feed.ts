import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/env.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { NOTIFICATION_COLUMNS, type NotificationRow } from './notification.types.js';
import { StreamHub } from './stream-hub.js';

const PAGE = 1000;

/** Why the feed reads the table: the bus did not bring the rows, the safety-net poll, or the bus was away. */
export type FeedRead = 'gap' | 'poll' | 'reconnect';

/**
 * The one ordered source of new notifications on this instance: it hands each
 * committed row to the hub once, in id order, with no gap.
 *
 * Invariant: `position` = P means every committed notification with id ≤ P has
 * been dispatched exactly once, in id order, and none with a larger id. Ids
 * become visible in commit order (the publisher's id lock), so no row with an
 * id ≤ P can commit later. Rows arrive two ways, and each keeps the invariant:
 * - `offer(rows)`: rows that are every committed row of their id range (one
 *   publishing statement's rows: nobody else draws an id under the lock). When
 *   nothing is missing before them (the first id ≤ P + 1), the ones past P go
 *   out; otherwise nothing does and the answer is false.
 * - `catchUp()`: a read of the table past P, in id order. What one snapshot
 *   shows past P is contiguous in committed ids (commit order again), so rows
 *   another path dispatched meanwhile are skipped and the rest go out.
 * Who offers what, and when to read instead, is the BusRouter's business; the
 * feed itself reads only as a safety net, when it has stood still for a whole
 * FEED_POLL_MS: a missing row stops the position until it is read, so a feed
 * that moves has no gap behind it, and the rows past it (the newest, of a
 * message that was lost) are what the next message's gap or this poll finds.
 */
@Injectable()
export class NotificationFeed implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('NotificationFeed');
  private lastSeen = 0;
  private draining: Promise<void> | null = null;
  /** A call joined a read in flight: read once more, for this reason. */
  private again: FeedRead | null = null;
  private poll: NodeJS.Timeout | null = null;
  /** The position at the last poll tick. */
  private polledAt = 0;
  /** Until the position is read at start, rows are ignored: what commits meanwhile is past it and read later. */
  private started = false;
  private stopped = false;

  constructor(
    private readonly db: DataSource,
    private readonly hub: StreamHub,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const [{ max }] = await this.db.query(`SELECT COALESCE(max(id), 0)::text AS max FROM notifications`);
    this.lastSeen = this.polledAt = Number(max);
    this.started = true;
    this.poll = setInterval(() => this.tick(), this.config.feedPollMs);
    this.poll.unref();
  }

  onModuleDestroy(): void {
    this.stopped = true;
    if (this.poll) clearInterval(this.poll);
  }

  private tick(): void {
    const moved = this.lastSeen !== this.polledAt;
    this.polledAt = this.lastSeen;
    if (!moved) void this.catchUp('poll');
  }

  /** The newest id dispatched so far. */
  get position(): number {
    return this.lastSeen;
  }

  /**
   * Rows that are every committed row from the first's id to the last's, in id
   * order. False when an id before them may be missing (nothing dispatched).
   */
  offer(rows: readonly NotificationRow[]): boolean {
    if (rows.length === 0 || !this.started || this.stopped) return true;
    if (Number(rows[0].id) > this.lastSeen + 1) return false;
    this.dispatch(rows);
    return true;
  }

  /**
   * Reads every row past the position from the database and dispatches it.
   * Calls during a read join it, and it reads once more after it (what they
   * expect may have committed after its query). Never rejects: with the
   * database away, the next call retries.
   */
  catchUp(reason: FeedRead): Promise<void> {
    if (!this.started || this.stopped) return Promise.resolve();
    if (this.draining) {
      this.again = reason;
      return this.draining;
    }
    this.draining = this.drain(reason).finally(() => (this.draining = null));
    return this.draining;
  }

  private async drain(reason: FeedRead): Promise<void> {
    try {
      for (let next: FeedRead | null = reason; next && !this.stopped; next = this.again) {
        this.again = null;
        let rows: NotificationRow[];
        do {
          rows = await this.db.query(
            `SELECT ${NOTIFICATION_COLUMNS} FROM notifications n WHERE n.id > $1 ORDER BY n.id LIMIT ${PAGE}`,
            [this.lastSeen],
          );
          this.metrics.feedReads.inc({ reason: next });
          this.metrics.feedRowsRead.inc({ reason: next }, rows.length);
          this.dispatch(rows);
        } while (rows.length === PAGE && !this.stopped);
      }
    } catch (err) {
      // The database is away: the next poll or bus message retries from the position.
      this.logger.debug?.(`Feed read failed: ${(err as Error).message}`);
    }
  }

  /** Rows contiguous in committed ids from at most position + 1: those past the position go out. */
  private dispatch(rows: readonly NotificationRow[]): void {
    for (const row of rows) {
      const id = Number(row.id);
      if (id <= this.lastSeen) continue;
      this.lastSeen = id;
      this.hub.dispatch(row);
    }
  }
}
