import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Subscription } from 'rxjs';
import { SessionRevocations } from '../auth/session-revocations.js';
import { type BusMessage, NotificationBus } from './bus/notification-bus.js';
import { rowsOf } from './bus/committed-message.js';
import { type FeedRead, NotificationFeed } from './notification-feed.js';
import type { NotificationRow } from './notification.types.js';
import { StreamHub } from './stream-hub.js';

/** Rows held ahead of a gap at most; past that they are dropped and read with the gap, as if announced without rows. */
const MAX_HELD_ROWS = 10_000;

/**
 * Where what the bus says, and what this instance commits, goes. State
 * messages (read, revocations, mutes) go to the hub. Committed rows go to the
 * feed, and the router decides whether to use them as they came or to have the
 * feed read the table:
 * - rows (of a bus message or of a local commit) are offered to the feed, and
 *   go out when nothing is missing before them;
 * - rows that come after a gap are held, sorted, for the bus's reorder window:
 *   the missing ones may still arrive (another instance's message, another
 *   channel, this instance's own commit); then the held rows follow them;
 * - a gap still open after the window, or a message without rows ("ids up to
 *   N exist": its rows did not fit), is a read of the missing ids only: from
 *   the feed's position up to the first held row, or up to N.
 * Holding never reorders anything the feed dispatches (it only offers), so
 * the feed's invariant holds whatever the messages' order, loss or repetition.
 */
@Injectable()
export class BusRouter implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('BusRouter');
  private readonly subscriptions = new Subscription();
  /** Batches that came after a gap, by first id. */
  private held: NotificationRow[][] = [];
  private heldRows = 0;
  /** The newest id a message without rows announced. */
  private announcedUpTo = 0;
  private graceTimer: NodeJS.Timeout | null = null;
  /** Id ranges this instance committed and is about to hand over (committingHere). */
  private handingOver: Array<{ lo: number; hi: number }> = [];

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
        void this.read('reconnect');
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
   * One statement of this instance committed ids `lo`…`hi` (every id between is its own, drawn
   * under the id lock) and hands its rows over a moment later (committedHere): its own message,
   * which can come first, is then dropped unparsed.
   */
  committingHere(lo: number, hi: number): void {
    this.handingOver.push({ lo, hi });
  }

  /** Rows this instance just committed (every row of their id range: one statement's, under the id lock). */
  committedHere(rows: NotificationRow[]): void {
    this.arrived(rows);
    if (this.handingOver.length > 0) this.handingOver = this.handingOver.filter((r) => r.hi > this.feed.position);
  }

  private route(m: BusMessage): void {
    switch (m.t) {
      case 'committed': {
        const upTo = Number(m.upTo);
        // Seen already, or about to be handed over here (this instance's own, mostly): nothing to decode.
        if (upTo <= this.feed.position || this.handingOver.some((r) => upTo >= r.lo && upTo <= r.hi)) return;
        let rows: NotificationRow[] | null;
        try {
          rows = rowsOf(m);
        } catch {
          this.logger.warn('Ignored a malformed bus message');
          return;
        }
        if (rows) this.arrived(rows);
        else this.announced(upTo);
        break;
      }
      case 'read':
        this.hub.readChanged(
          m.userId,
          m.ids
            ? { ids: m.ids }
            : { all: true, ...(m.channel ? { channel: m.channel } : {}), ...(m.before ? { before: m.before } : {}) },
        );
        break;
      case 'state':
        this.hub.control(m.userId, { type: 'state', payload: m.payload });
        break;
      case 'unsnoozed':
        this.hub.control(m.userId, { type: 'unsnoozed', payload: { ids: m.ids } });
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
        if (m.locale) this.hub.setLocale(m.userId, m.locale);
        break;
    }
  }

  private arrived(rows: NotificationRow[]): void {
    if (this.feed.offer(rows)) {
      this.release();
      return;
    }
    const first = Number(rows[0].id);
    let i = this.held.length;
    while (i > 0 && Number(this.held[i - 1][0].id) > first) i--;
    this.held.splice(i, 0, rows);
    this.heldRows += rows.length;
    if (this.heldRows > MAX_HELD_ROWS) this.drop();
    this.wait();
  }

  /** A message whose rows did not fit: ids up to `upTo` exist. */
  private announced(upTo: number): void {
    this.announcedUpTo = Math.max(this.announcedUpTo, upTo);
    this.wait();
  }

  /** Held batches that follow the position now go out, in order; those behind it are dropped. */
  private release(): void {
    while (this.held.length > 0 && Number(this.held[0][0].id) <= this.feed.position + 1) {
      const rows = this.held.shift()!;
      this.heldRows -= rows.length;
      this.feed.offer(rows);
    }
  }

  private drop(): void {
    const last = this.held.at(-1)!;
    this.announcedUpTo = Math.max(this.announcedUpTo, Number(last[last.length - 1].id));
    this.held = [];
    this.heldRows = 0;
  }

  /**
   * The missing rows may still come within the reorder window (for a message
   * without rows: this instance's own commit handing them over); if they do
   * not, read.
   */
  private wait(): void {
    this.graceTimer ??= setTimeout(() => {
      this.graceTimer = null;
      this.release();
      // Only the missing ids: up to the first held row (committed: its message came), or the announced upTo.
      if (this.held.length > 0) void this.read('gap', Number(this.held[0][0].id) - 1);
      else if (this.announcedUpTo > this.feed.position) void this.read('gap', this.announcedUpTo);
    }, this.bus.reorderWindowMs);
  }

  private async read(reason: FeedRead, through?: number): Promise<void> {
    const before = this.feed.position;
    await this.feed.catchUp(reason, through);
    this.release();
    // A gap further on, or one that opened meanwhile; without progress (the database is away)
    // the next message or the poll tries again.
    const open = this.held.length > 0 || this.announcedUpTo > this.feed.position;
    if (open && this.feed.position > before) this.wait();
  }
}
