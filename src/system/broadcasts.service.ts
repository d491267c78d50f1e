import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { Audience, BroadcastJson, DeliveryMethod, NotificationAction, Severity } from '../../client/wire.js';
import { invalid } from '../common/domain-error.js';
import { TransactionRunner } from '../database/transaction.js';
import { DomainEvents } from '../events/domain-events.service.js';
import { canonicalTranslations } from '../events/translations.dto.js';
import type { Translations } from '../events/translations.dto.js';
import type { Role } from '../users/user.entity.js';

export interface BroadcastInput {
  title: string;
  body: string;
  severity?: Severity;
  audience?: { role?: Role; userIds?: string[] };
  expiresAt?: string;
  deliver?: DeliveryMethod[];
  actions?: NotificationAction[];
  translations?: Translations;
}

/**
 * System announcements from admins. A broadcast is one notifications row with
 * an audience, whatever its size: who receives it is decided when it is read
 * (src/notifications/visibility.ts), so sending to 10,000 users writes one row.
 */
@Injectable()
export class BroadcastsService {
  constructor(
    private readonly transactions: TransactionRunner,
    private readonly events: DomainEvents,
  ) {}

  send(adminId: string, input: BroadcastInput): Promise<BroadcastJson> {
    const expiresAt = input.expiresAt === undefined ? null : new Date(input.expiresAt);
    if (expiresAt && !(expiresAt.getTime() > Date.now())) throw invalid('expiresAt must be in the future');
    return this.transactions.run(async (tx) => {
      const audience = await this.audienceOf(tx.manager, input.audience);
      return this.events.broadcast(tx, 'system.broadcast', {
        title: input.title,
        body: input.body,
        severity: input.severity ?? 'info',
        audience,
        expiresAt,
        sentBy: adminId,
        deliver: [...new Set(input.deliver ?? [])],
        actions: input.actions ?? [],
        translations: canonicalTranslations(input.translations),
      });
    });
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
