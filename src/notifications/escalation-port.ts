import { Injectable } from '@nestjs/common';
import { Observable, Subject } from 'rxjs';
import type { Tx } from '../database/transaction.js';
import type { NotificationRow } from './notification.types.js';

/** An escalating notification written to an open stream of this user: seen, so it goes out by no other method. */
export interface Streamed {
  notificationId: string;
  userId: string;
}

/** Runs inside the transaction of a broadcast that escalates; a throw rolls the broadcast back. */
export type BroadcastListener = (tx: Tx, row: NotificationRow) => Promise<void>;

/** A snoozed notification whose time came: back in this user's inbox, unread. */
export interface Woken {
  notificationId: string;
  userId: string;
}

/** Runs inside the wake-up's transaction: escalate these as if they were new; a throw rolls the wake-up back. */
export type WokenListener = (tx: Tx, woken: Woken[]) => Promise<void>;

/**
 * What the core tells escalation (push, email, … in src/delivery/) without
 * importing it: delivery subscribes here, the core emits. With no subscriber
 * (the core's own tests) both signals go nowhere.
 */
@Injectable()
export class EscalationPort {
  private readonly streams = new Subject<Streamed>();
  private readonly broadcastListeners = new Set<BroadcastListener>();
  private readonly wokenListeners = new Set<WokenListener>();

  /** Every write of an escalating row (see `escalates`) to an open stream, live or replayed. */
  readonly streamed$: Observable<Streamed> = this.streams.asObservable();

  /** Returns the unsubscribe. */
  onBroadcast(listener: BroadcastListener): () => void {
    this.broadcastListeners.add(listener);
    return () => this.broadcastListeners.delete(listener);
  }

  /** Returns the unsubscribe. */
  onWoken(listener: WokenListener): () => void {
    this.wokenListeners.add(listener);
    return () => this.wokenListeners.delete(listener);
  }

  /** @internal The core's side: snoozed notifications woke up (SnoozeWaker), inside its transaction. */
  async woken(tx: Tx, woken: Woken[]): Promise<void> {
    for (const listener of this.wokenListeners) await listener(tx, woken);
  }

  /** @internal The core's side: the hub and the replay. */
  streamed(notificationId: string, userId: string): void {
    if (this.streams.observed) this.streams.next({ notificationId, userId });
  }

  /** @internal The core's side: a broadcast that escalates, inside its transaction. */
  async broadcastPublished(tx: Tx, row: NotificationRow): Promise<void> {
    for (const listener of this.broadcastListeners) await listener(tx, row);
  }
}

/**
 * Whether escalation will consider this row for push and email: every personal row (by
 * its user's preferences), a broadcast only with `deliver`. Only these are worth a stream mark:
 * a broadcast to 10,000 connected users would otherwise write 10,000 rows nobody reads.
 */
export function escalates(row: NotificationRow): boolean {
  return row.user_id !== null || (row.deliver?.length ?? 0) > 0;
}
