import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Subscription } from 'rxjs';
import { DataSource } from 'typeorm';
import { SessionRevocations } from '../auth/session-revocations.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/env.js';
import { NotificationBus } from './bus/notification-bus.js';
import { NOTIFICATION_COLUMNS, type NotificationRow } from './notification.types.js';
import { StreamHub } from './stream-hub.js';

const PAGE = 1000;
/** How long an announcement waits for this instance's own commit to hand its rows over. */
const ANNOUNCE_GRACE_MS = 2;

/**
 * The one reader of new notifications on this instance. Woken by a local
 * commit, a bus message, a bus reconnect or a periodic poll, it reads every row
 * past the last id it dispatched, in id order, and hands each to the hub once.
 * Ids become visible in commit order (see NotificationPublisher), so
 * "id > lastSeen" can never skip a row; a lost bus message only delays it until
 * the next wake.
 */
@Injectable()
export class NotificationFeed implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('NotificationFeed');
  private lastSeen = 0;
  private running = false;
  private again = false;
  private poll: NodeJS.Timeout | null = null;
  private readonly subscriptions = new Subscription();
  private stopped = false;
  private announcedUpTo = 0;
  private graceTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: DataSource,
    private readonly hub: StreamHub,
    private readonly bus: NotificationBus,
    private readonly revocations: SessionRevocations,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const [{ max }] = await this.db.query(`SELECT COALESCE(max(id), 0)::text AS max FROM notifications`);
    this.lastSeen = Number(max);
    this.subscriptions.add(
      this.bus.messages$.subscribe((m) => {
        switch (m.t) {
          case 'committed':
            this.announced(Number(m.upTo));
            break;
          case 'read':
            this.hub.readChanged(
              m.userId,
              m.ids ? { ids: m.ids } : { all: true, ...(m.channel ? { channel: m.channel } : {}) },
            );
            break;
          case 'revoke-session':
            this.revocations.received({ kind: 'session', sessionId: m.sessionId });
            this.hub.endSession(m.sessionId);
            break;
          case 'revoke-user':
            this.revocations.received({ kind: 'user', userId: m.userId });
            this.hub.endUser(m.userId);
            break;
          case 'prefs':
            this.hub.setMuted(m.userId, m.muted);
            break;
        }
      }),
    );
    this.subscriptions.add(
      this.bus.reconnected$.subscribe(() => {
        // Revocations sent while the bus was away are lost: cached users are dropped
        // (StreamRevalidation re-checks the open streams).
        this.revocations.mayHaveMissed();
        this.wake();
      }),
    );
    // Revocations raised on this instance are relayed to all (this one included, through the bus).
    this.subscriptions.add(
      this.revocations.revoked$.subscribe((r) => {
        if (r.kind === 'session') this.hub.endSession(r.sessionId);
        else this.hub.endUser(r.userId);
        const message =
          r.kind === 'session'
            ? { t: 'revoke-session' as const, sessionId: r.sessionId }
            : { t: 'revoke-user' as const, userId: r.userId };
        this.bus.send(message).catch((err: Error) => this.logger.warn(`Could not relay a revocation: ${err.message}`));
      }),
    );
    this.poll = setInterval(() => this.wake(), this.config.feedPollMs);
    this.poll.unref();
  }

  onModuleDestroy(): void {
    this.stopped = true;
    if (this.poll) clearInterval(this.poll);
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.subscriptions.unsubscribe();
  }

  /** The newest id dispatched so far. */
  get position(): number {
    return this.lastSeen;
  }

  /**
   * Rows this instance just committed. Every id below the first of them is
   * committed too (ids commit in order), so when the feed has dispatched up to
   * just before them they go out at once, without reading them back; after a
   * gap (a burnt id, rows of another instance or a commit whose callback is
   * still to come) the feed reads from the database as for any wake.
   */
  committed(rows: NotificationRow[]): void {
    if (this.stopped || rows.length === 0) return;
    if (!this.running) {
      for (const row of rows) {
        if (Number(row.id) !== this.lastSeen + 1) break;
        this.lastSeen = Number(row.id);
        this.hub.dispatch(row);
      }
    }
    if (Number(rows[rows.length - 1].id) > this.lastSeen) this.wake();
  }

  /**
   * Ids up to `upTo` are committed (a bus message). The NOTIFY of this
   * instance's own commit often arrives a moment before the commit's answer:
   * a short grace lets `committed` hand those rows over first, so they are not
   * read back. Another instance's rows wait that much longer.
   */
  private announced(upTo: number): void {
    if (upTo <= this.lastSeen) return;
    this.announcedUpTo = Math.max(this.announcedUpTo, upTo);
    this.graceTimer ??= setTimeout(() => {
      this.graceTimer = null;
      if (this.announcedUpTo > this.lastSeen) this.wake();
    }, ANNOUNCE_GRACE_MS);
  }

  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.drain().finally(() => {
      this.running = false;
    });
  }

  private async drain(): Promise<void> {
    try {
      do {
        this.again = false;
        let rows: NotificationRow[];
        do {
          rows = await this.db.query(
            `SELECT ${NOTIFICATION_COLUMNS} FROM notifications n WHERE n.id > $1 ORDER BY n.id LIMIT ${PAGE}`,
            [this.lastSeen],
          );
          for (const row of rows) {
            this.lastSeen = Number(row.id);
            this.hub.dispatch(row);
          }
        } while (rows.length === PAGE && !this.stopped);
      } while (this.again && !this.stopped);
    } catch (err) {
      // The database is away: the next poll or bus message retries from lastSeen.
      this.logger.debug?.(`Feed read failed: ${(err as Error).message}`);
    }
  }
}
