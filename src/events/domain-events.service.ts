import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { BroadcastJson } from '../../client/wire.js';
import type { Tx } from '../database/transaction.js';
import { Broadcasts } from '../notifications/broadcasts.js';
import { NotificationPublisher } from '../notifications/notification.publisher.js';
import type { BroadcastDraft, NotificationRow, PersonalDraft } from '../notifications/notification.types.js';
import {
  type BroadcastEnvelope,
  type BroadcastEventMap,
  type BroadcastEventName,
  EventCatalogue,
  type PersonalEvent,
} from './domain-events.js';

/** Where the id of the row written along goes in an event's payload (see emitAlong). */
export { ALONG_ID } from '../notifications/notification.publisher.js';

/**
 * How event sources emit: inside their own transaction, as its last step, so
 * the state change and its notifications commit together or not at all. The
 * sources see only this and the catalogue; streams and delivery are the
 * core's business.
 */
@Injectable()
export class DomainEvents {
  constructor(
    private readonly catalogue: EventCatalogue,
    private readonly publisher: NotificationPublisher,
    private readonly broadcasts: Broadcasts,
    private readonly db: DataSource,
  ) {}

  /** Call last in the transaction: publishing takes the id-ordering lock, held until commit. */
  async emit(tx: Tx, events: PersonalEvent[]): Promise<NotificationRow[]> {
    const locales = await localesOf(tx.manager, events);
    return this.publisher.publish(
      tx,
      events.map((e) => this.catalogue.personal(e, locales.get(e.recipient))),
    );
  }

  /**
   * Domain writes and their events in one statement (one round trip, one
   * commit, atomic by itself): see NotificationPublisher.publishAlong. Each
   * event names the `ord` of its domain row as `along`; ALONG_ID in its payload
   * stands for that row's id.
   */
  async emitAlong<T>(
    write: { ctes: string; params: unknown[] },
    events: Array<PersonalEvent & { along: number }>,
  ): Promise<{ along: T[] }> {
    // Read before the statement, not in it: the texts are rendered here (one query per batch).
    const locales = await localesOf(this.db, events);
    return this.publisher.publishAlong<T>(
      write,
      events.map((e) => ({ ...this.catalogue.personal(e, locales.get(e.recipient)), along: e.along })),
    );
  }

  /**
   * Notifications a caller composed itself rather than from the catalogue (the
   * API for other services): the same statement as `emit`, one for all of them.
   */
  publishDrafts(tx: Tx, drafts: PersonalDraft[]): Promise<NotificationRow[]> {
    return this.publisher.publish(tx, drafts);
  }

  /** A composed broadcast (a topic's notification): one row, as `broadcast`. Call last in the transaction. */
  broadcastDraft(tx: Tx, draft: BroadcastDraft): Promise<BroadcastJson> {
    return this.broadcasts.publish(tx, draft);
  }

  /** One row for the whole audience, its delivery scheduled in the same transaction. Call last in it. */
  broadcast<K extends BroadcastEventName>(
    tx: Tx,
    type: K,
    payload: BroadcastEventMap[K] & BroadcastEnvelope,
  ): Promise<BroadcastJson> {
    return this.broadcasts.publish(tx, this.catalogue.broadcast(type, payload));
  }
}

/** Each recipient's locale (users.locale), to render their notifications in: one query for all. */
async function localesOf(db: Pick<DataSource, 'query'>, events: PersonalEvent[]): Promise<Map<string, string>> {
  const ids = [...new Set(events.map((e) => e.recipient))];
  const rows: Array<{ id: string; locale: string }> = await db.query(
    `SELECT id::text AS id, locale FROM users WHERE id = ANY ($1::bigint[])`,
    [ids],
  );
  return new Map(rows.map((r) => [r.id, r.locale]));
}
