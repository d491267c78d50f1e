import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Subscription } from 'rxjs';
import { DataSource } from 'typeorm';
import { NotificationBus } from './bus/notification-bus.js';
import { StreamHub } from './stream-hub.js';

/**
 * Revocations (logout, a disabled user, a changed role) reach other instances
 * as bus messages, and a message sent while this instance was cut off from
 * the bus is lost. So after every bus (re)connect the open streams of this
 * instance are checked against the database, as the feed catches up on
 * notifications: a stream whose session is gone, whose user is disabled or
 * whose role changed ends, as the lost message would have ended it.
 */
@Injectable()
export class StreamRevalidation implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('StreamRevalidation');
  private subscription: Subscription | null = null;

  constructor(
    private readonly db: DataSource,
    private readonly hub: StreamHub,
    private readonly bus: NotificationBus,
  ) {}

  onApplicationBootstrap(): void {
    this.subscription = this.bus.reconnected$.subscribe(() => void this.revalidate());
  }

  onModuleDestroy(): void {
    this.subscription?.unsubscribe();
  }

  /** Ends the streams whose session, user or role no longer holds; returns how many sessions. */
  async revalidate(): Promise<number> {
    const open = new Map(this.hub.openSessions().map((s) => [`${s.sessionId}\u0000${s.userId}\u0000${s.role}`, s]));
    if (open.size === 0) return 0;
    const held = [...open.values()];
    let stale: Array<{ sid: string }>;
    try {
      stale = await this.db.query(
        `SELECT DISTINCT h.sid
           FROM unnest($1::text[], $2::text[], $3::text[]) AS h(sid, uid, role)
          WHERE NOT EXISTS (
                  SELECT 1 FROM sessions s JOIN users u ON u.id::text = h.uid
                   WHERE s.sid = h.sid AND s.expire > now() AND s.sess #>> '{passport,user}' = h.uid
                     AND u.disabled_at IS NULL AND u.role = h.role)`,
        [held.map((s) => s.sessionId), held.map((s) => s.userId), held.map((s) => s.role)],
      );
    } catch (err) {
      // The database is away too; the next reconnect checks again.
      this.logger.warn(`Could not re-check open streams: ${(err as Error).message}`);
      return 0;
    }
    for (const { sid } of stale) this.hub.endSession(sid);
    if (stale.length > 0)
      this.logger.log(`Ended the streams of ${stale.length} sessions revoked while the bus was away`);
    return stale.length;
  }
}
