import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Subscription } from 'rxjs';
import { SessionRevocations } from '../auth/session-revocations.js';
import { type BusMessage, NotificationBus } from './bus/notification-bus.js';
import { NotificationFeed } from './notification-feed.js';
import type { NotificationRow } from './notification.types.js';
import { StreamHub } from './stream-hub.js';

/** How long an announcement waits for this instance's own commit to hand its rows over. */
const ANNOUNCE_GRACE_MS = 2;

/**
 * Where what the bus says, and what this instance commits, goes. State
 * messages (read, revocations, mutes) go to the hub; committed rows go to the
 * feed, and the router decides whether to use them as they came or to have the
 * feed read the database: a local commit's rows are used when nothing is
 * missing before them, an announcement ("ids up to N exist") is a read.
 */
@Injectable()
export class BusRouter implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('BusRouter');
  private readonly subscriptions = new Subscription();
  private announcedUpTo = 0;
  private graceTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly feed: NotificationFeed,
    private readonly hub: StreamHub,
    private readonly bus: NotificationBus,
    private readonly revocations: SessionRevocations,
  ) {}

  onApplicationBootstrap(): void {
    this.subscriptions.add(this.bus.messages$.subscribe((m) => this.route(m)));
    this.subscriptions.add(
      this.bus.reconnected$.subscribe(() => {
        // Revocations sent while the bus was away are lost: cached users are dropped
        // (StreamRevalidation re-checks the open streams).
        this.revocations.mayHaveMissed();
        void this.feed.catchUp();
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
  }

  onModuleDestroy(): void {
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.subscriptions.unsubscribe();
  }

  /**
   * Rows this instance just committed. Every id below the first of them is
   * committed too (ids commit in order), so when the feed has dispatched up to
   * just before them they go out at once, without reading them back; after a
   * gap (a burnt id, rows of another instance or a commit whose callback is
   * still to come) the feed reads from the database.
   */
  committedHere(rows: NotificationRow[]): void {
    if (!this.feed.offer(rows)) void this.feed.catchUp();
  }

  private route(m: BusMessage): void {
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
  }

  /**
   * Ids up to `upTo` are committed. The NOTIFY of this instance's own commit
   * often arrives a moment before the commit's answer: a short grace lets
   * `committedHere` hand those rows over first, so they are not read back.
   * Another instance's rows wait that much longer.
   */
  private announced(upTo: number): void {
    if (upTo <= this.feed.position) return;
    this.announcedUpTo = Math.max(this.announcedUpTo, upTo);
    this.graceTimer ??= setTimeout(() => {
      this.graceTimer = null;
      if (this.announcedUpTo > this.feed.position) void this.feed.catchUp();
    }, ANNOUNCE_GRACE_MS);
  }
}
