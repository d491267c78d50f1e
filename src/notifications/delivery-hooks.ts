import { Injectable } from '@nestjs/common';
import type { Tx } from '../database/transaction.js';
import type { NotificationRow } from './notification.types.js';

/**
 * Where the core tells the delivery module (src/delivery/) what it needs to
 * know, without depending on it: the delivery module fills these in at start.
 * Defaults do nothing, so the core works (and its tests run) without it.
 */
@Injectable()
export class DeliveryHooks {
  /** Inside the transaction of a broadcast with `deliver`: schedule its batch delivery by `row.deliver`. */
  scheduleBroadcast: (tx: Tx, row: NotificationRow) => Promise<void> = () => Promise.resolve();
  /**
   * A notification that escalates (see `escalates`) was written to an open stream of this user
   * (cheap: it only queues a mark).
   */
  streamed: (notificationId: string, userId: string) => void = () => {};
}

/**
 * Whether the escalation will consider this row for push and email: every personal row (by
 * its user's preferences), a broadcast only with `deliver`. Only these are worth a stream mark:
 * a broadcast to 10,000 connected users would otherwise write 10,000 rows nobody reads.
 */
export function escalates(row: NotificationRow): boolean {
  return row.user_id !== null || (row.deliver?.length ?? 0) > 0;
}
