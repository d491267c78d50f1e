import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { TimerLoop } from '../common/timer-loop.js';
import { TransactionRunner } from '../database/transaction.js';
import { NotificationBus } from './bus/notification-bus.js';
import { EscalationPort, type Woken } from './escalation-port.js';

/** How often each instance looks for due wake-ups (one probe of a partial index). */
export const SNOOZE_POLL_MS = 1000;
/** Wake-ups per transaction: bounded work whatever the backlog (after downtime). */
const WAKE_PAGE = 500;
/** Ids per `unsnoozed` message: a NOTIFY payload stays under 8,000 bytes. */
const IDS_PER_MESSAGE = 300;

/**
 * Brings snoozed notifications back when their time comes. The due time is a column
 * (`notification_states.snoozed_until`), so wake-ups survive restarts and need no job per
 * snooze: every instance scans for due rows, and `FOR UPDATE SKIP LOCKED` gives each row to
 * one of them. A wake-up, in one transaction: the snooze is cleared, the notification is
 * unread again (a receipt with read_at NULL), and delivery re-plans it as if new
 * (EscalationPort.woken). Once committed, the user's streams get `event: unsnoozed`.
 */
@Injectable()
export class SnoozeWaker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('SnoozeWaker');
  private readonly loop = new TimerLoop();

  constructor(
    private readonly transactions: TransactionRunner,
    private readonly bus: NotificationBus,
    private readonly port: EscalationPort,
  ) {}

  /** The first scan one interval after start: delivery subscribes to `woken` in its own bootstrap. */
  onApplicationBootstrap(): void {
    this.loop.start(SNOOZE_POLL_MS, () => this.tick());
  }

  async onModuleDestroy(): Promise<void> {
    await this.loop.stop();
  }

  private async tick(): Promise<void> {
    let more = false;
    try {
      more = (await this.wake()) === WAKE_PAGE;
    } catch (err) {
      this.logger.warn(`Snooze wake-up failed, retried: ${(err as Error).message}`);
    }
    this.loop.runIn(more ? 0 : SNOOZE_POLL_MS, () => this.tick());
  }

  /** One page of due wake-ups; answers how many woke. Public for the tests. */
  async wake(): Promise<number> {
    const woken = await this.transactions.run(async (tx) => {
      const rows: Woken[] = await tx.manager.query(
        `WITH due AS (
           SELECT user_id, notification_id FROM notification_states
            WHERE snoozed_until IS NOT NULL AND snoozed_until <= now()
            ORDER BY snoozed_until LIMIT $1 FOR UPDATE SKIP LOCKED),
         woke AS (
           UPDATE notification_states s SET snoozed_until = NULL FROM due
            WHERE s.user_id = due.user_id AND s.notification_id = due.notification_id
           RETURNING s.user_id, s.notification_id),
         unread AS (
           INSERT INTO notification_reads AS r (user_id, notification_id, read_at)
           SELECT user_id, notification_id, NULL FROM woke
           ON CONFLICT (user_id, notification_id) DO UPDATE SET read_at = NULL)
         SELECT user_id::text AS "userId", notification_id::text AS "notificationId" FROM woke
          ORDER BY notification_id`,
        [WAKE_PAGE],
      );
      if (rows.length > 0) await this.port.woken(tx, rows);
      return rows;
    });
    if (woken.length > 0) await this.announce(woken);
    return woken.length;
  }

  private async announce(woken: Woken[]): Promise<void> {
    const byUser = new Map<string, string[]>();
    for (const w of woken) {
      const ids = byUser.get(w.userId) ?? [];
      ids.push(w.notificationId);
      byUser.set(w.userId, ids);
    }
    for (const [userId, ids] of byUser) {
      for (let i = 0; i < ids.length; i += IDS_PER_MESSAGE) {
        // Committed already: a lost message only leaves an open tab unaware until it reloads.
        await this.bus
          .send({ t: 'unsnoozed', userId, ids: ids.slice(i, i + IDS_PER_MESSAGE) })
          .catch((err: Error) => this.logger.warn(`unsnoozed not announced: ${err.message}`));
      }
    }
  }
}
