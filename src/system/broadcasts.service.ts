import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { invalid } from '../common/domain-error.js';
import { TransactionRunner } from '../database/transaction.js';
import { DomainEvents } from '../events/domain-events.service.js';
import {
  type Audience,
  type BroadcastJson,
  NOTIFICATION_COLUMNS,
  type NotificationRow,
  type Severity,
  toBroadcastJson,
} from '../notifications/notification.types.js';
import type { Role } from '../users/user.entity.js';
import type { DeliveryMethod } from '../../client/wire.js';
import { DeliveryHooks } from '../notifications/delivery-hooks.js';

export interface BroadcastInput {
  title: string;
  body: string;
  severity?: Severity;
  audience?: { role?: Role; userIds?: string[] };
  expiresAt?: string;
  deliver?: DeliveryMethod[];
}

/**
 * System announcements from admins. A broadcast is one notifications row with
 * an audience, whatever its size: who receives it is decided when it is read
 * (src/notifications/visibility.ts), so sending to 10,000 users writes one row.
 */
@Injectable()
export class BroadcastsService {
  constructor(
    private readonly db: DataSource,
    private readonly transactions: TransactionRunner,
    private readonly events: DomainEvents,
    private readonly hooks: DeliveryHooks,
  ) {}

  send(adminId: string, input: BroadcastInput): Promise<BroadcastJson> {
    const expiresAt = input.expiresAt === undefined ? null : new Date(input.expiresAt);
    if (expiresAt && !(expiresAt.getTime() > Date.now())) throw invalid('expiresAt must be in the future');
    return this.transactions.run(async (tx) => {
      const audience = await this.audienceOf(tx.manager, input.audience);
      const row = await this.events.broadcast(tx, {
        title: input.title,
        body: input.body,
        severity: input.severity ?? 'info',
        audience,
        expiresAt,
        sentBy: adminId,
        deliver: [...new Set(input.deliver ?? [])],
      });
      if (row.deliver) await this.hooks.scheduleBroadcast(tx, row);
      return toBroadcastJson(row);
    });
  }

  /** Every broadcast, newest first, expired ones included (the admin's view, not a user's). */
  async list(q: { limit: number; before?: string }): Promise<{ items: BroadcastJson[]; nextBefore: string | null }> {
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

  private async audienceOf(manager: EntityManager, input: BroadcastInput['audience']): Promise<Audience> {
    if (input === undefined) return { kind: 'all' };
    const hasRole = input.role !== undefined;
    const hasIds = input.userIds !== undefined;
    if (hasRole === hasIds) throw invalid('audience must have exactly one of role or userIds');
    if (hasRole) return { kind: 'role', role: input.role! };
    const userIds = [...new Set(input.userIds!.map((id) => BigInt(id).toString()))];
    // A typo in an id would silently reach nobody: refuse ids of no user.
    const unknown: Array<{ id: string }> = await manager.query(
      `SELECT x.id::text AS id FROM unnest($1::bigint[]) AS x(id)
        WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = x.id) ORDER BY x.id LIMIT 5`,
      [userIds],
    );
    if (unknown.length > 0) {
      throw invalid(`audience.userIds has ids of no user: ${unknown.map((u) => u.id).join(', ')}`);
    }
    return { kind: 'users', userIds };
  }
}
