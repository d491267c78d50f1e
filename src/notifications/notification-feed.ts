import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/env.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { NOTIFICATION_COLUMNS, type NotificationRow } from './notification.types.js';
import { StreamHub } from './stream-hub.js';

const PAGE = 1000;
const MAX_ID = '9223372036854775807';

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
 *   another path dispatched meanwhile are skipped and the rest go out. A read
 *   bounded by an id known committed moves P up to that id (see catchUp).
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
  /** The read to make next: calls during a read join it, widest range first. */
  private wanted: { reason: FeedRead; through: number } | null = null;
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
    // After the I/O that is waiting: a process that got the CPU back after a pause would
    // otherwise read what its socket already holds.
    if (!moved) setImmediate(() => this.lastSeen === this.polledAt && void this.catchUp('poll'));
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
   * Reads the rows past the position from the database and dispatches them:
   * all of them, or those up to `through` when an id of at least `through` is
   * known to be committed (a message's rows or its `upTo`). Then, by commit
   * order, every id up to `through` that will ever commit is in the read's
   * snapshot, so the position moves to `through` even where the last ids never
   * committed (a rolled-back transaction drew them). Calls during a read join
   * it, and it reads once more after it (what they expect may have committed
   * after its query). Never rejects: with the database away, the next call
   * retries.
   */
  catchUp(reason: FeedRead, through = Infinity): Promise<void> {
    if (!this.started || this.stopped) return Promise.resolve();
    const wanted = this.wanted;
    this.wanted = { reason, through: Math.max(through, wanted?.through ?? through) };
    this.draining ??= this.drain();
    return this.draining;
  }

  private async drain(): Promise<void> {
    try {
      while (this.wanted && !this.stopped) {
        const { reason, through } = this.wanted;
        this.wanted = null;
        let rows: NotificationRow[];
        do {
          rows = await this.db.query(
            `SELECT ${NOTIFICATION_COLUMNS} FROM notifications n WHERE n.id > $1 AND n.id <= $2 ORDER BY n.id LIMIT ${PAGE}`,
            [this.lastSeen, through === Infinity ? MAX_ID : through],
          );
          this.metrics.feedReads.inc({ reason });
          this.metrics.feedRowsRead.inc({ reason }, rows.length);
          this.dispatch(rows);
        } while (rows.length === PAGE && !this.stopped);
        if (through !== Infinity && through > this.lastSeen) this.lastSeen = through;
      }
    } catch (err) {
      // The database is away: the next poll or bus message retries from the position.
      this.logger.debug?.(`Feed read failed: ${(err as Error).message}`);
    } finally {
      // At once, not a microtask later: a call in between would join a read that has ended.
      this.draining = null;
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
