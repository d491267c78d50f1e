import { Injectable } from '@nestjs/common';
import type { Tx } from '../database/transaction.js';
import { NotificationPublisher } from '../notifications/notification.publisher.js';
import type { NotificationRow } from '../notifications/notification.types.js';
import { type BroadcastEventMap, type PersonalEvent, toBroadcastDraft, toPersonalDraft } from './domain-events.js';

/** Where the id of the row written along goes in an event's payload (see emitAlong). */
export { ALONG_ID } from '../notifications/notification.publisher.js';

/**
 * How event sources emit: inside their own transaction, as its last step, so
 * the state change and its notifications commit together or not at all. The
 * sources see only this and the catalogue; streams are the notifications
 * module's business.
 */
@Injectable()
export class DomainEvents {
  constructor(private readonly publisher: NotificationPublisher) {}

  /** Call last in the transaction: publishing takes the id-ordering lock, held until commit. */
  emit(tx: Tx, events: PersonalEvent[]): Promise<NotificationRow[]> {
    return this.publisher.publish(tx, events.map(toPersonalDraft));
  }

  /**
   * Domain writes and their events in one statement (one round trip, one
   * commit, atomic by itself): see NotificationPublisher.publishAlong. Each
   * event names the `ord` of its domain row as `along`; ALONG_ID in its payload
   * stands for that row's id.
   */
  emitAlong<T>(
    write: { ctes: string; params: unknown[] },
    events: Array<PersonalEvent & { along: number }>,
  ): Promise<{ along: T[] }> {
    return this.publisher.publishAlong<T>(
      write,
      events.map((e) => ({ ...toPersonalDraft(e), along: e.along })),
    );
  }

  /** One row for the whole audience. Call last in the transaction. */
  broadcast(tx: Tx, payload: BroadcastEventMap['system.broadcast']): Promise<NotificationRow> {
    return this.publisher.publishBroadcast(tx, toBroadcastDraft(payload));
  }
}
