import { Injectable } from '@nestjs/common';
import type { Tx } from '../database/transaction.js';
import type { DeliveryMethod } from '../../client/wire.js';
import type { NotificationRow } from './notification.types.js';

/**
 * Where the core tells the delivery module (src/delivery/) what it needs to
 * know, without depending on it: the delivery module fills these in at start.
 * Defaults do nothing, so the core works (and its tests run) without it.
 */
@Injectable()
export class DeliveryHooks {
  /** Inside the broadcast's transaction: schedule its batch delivery by these methods. */
  scheduleBroadcast: (tx: Tx, row: NotificationRow, methods: DeliveryMethod[]) => Promise<void> = () =>
    Promise.resolve();
  /** A notification was written to an open stream of this user (cheap: it only queues a mark). */
  streamed: (notificationId: string, userId: string) => void = () => {};
}
