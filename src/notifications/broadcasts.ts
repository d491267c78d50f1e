import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { BroadcastJson } from '../../client/wire.js';
import type { Tx } from '../database/transaction.js';
import { EscalationPort, escalates } from './escalation-port.js';
import { NotificationPublisher } from './notification.publisher.js';
import {
  type BroadcastDraft,
  NOTIFICATION_COLUMNS,
  type NotificationRow,
  toBroadcastJson,
} from './notification.types.js';

export interface BroadcastPage {
  items: BroadcastJson[];
  nextBefore: string | null;
}

/**
 * Broadcasts, as the rest of the service sees them: published (through
 * DomainEvents, by the system source) and listed (by the admin routes).
 */
@Injectable()
export class Broadcasts {
  constructor(
    private readonly db: DataSource,
    private readonly publisher: NotificationPublisher,
    private readonly escalation: EscalationPort,
  ) {}

  /** One row for the whole audience; its delivery (`deliver`) is scheduled in the same transaction. */
  async publish(tx: Tx, draft: BroadcastDraft): Promise<BroadcastJson> {
    const row = await this.publisher.publishBroadcast(tx, draft);
    if (escalates(row)) await this.escalation.broadcastPublished(tx, row);
    return toBroadcastJson(row);
  }

  /** Every broadcast, newest first, expired ones included (the admin's view, not a user's). */
  async list(q: { limit: number; before?: string }): Promise<BroadcastPage> {
    const rows: NotificationRow[] = await this.db.query(
      `SELECT ${NOTIFICATION_COLUMNS} FROM notifications n
        WHERE n.user_id IS NULL AND ($1::bigint IS NULL OR n.id < $1::bigint)
        ORDER BY n.id DESC LIMIT $2`,
      [q.before ?? null, q.limit + 1],
    );
    const page = rows.slice(0, q.limit);
    return {
      items: page.map(toBroadcastJson),
      nextBefore: rows.length > q.limit ? String(page[page.length - 1].id) : null,
    };
  }
}
