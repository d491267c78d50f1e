import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { invalid } from '../common/domain-error.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/env.js';
import { TransactionRunner, type Tx } from '../database/transaction.js';
import { DomainEvents } from '../events/domain-events.service.js';
import type { PersonalDraft } from '../notifications/notification.types.js';
import { normalizeEmail } from '../users/email.js';
import type { ApiCaller } from './api-keys.service.js';
import { fingerprint, Idempotency, type StoredAnswer } from './idempotency.js';
import type { PublishDto } from './publish.dto.js';
import { TopicsService } from './topics.service.js';

export interface Published {
  ids: string[];
  skipped: string[];
}

export interface PublishAnswer extends StoredAnswer {
  replayed: boolean;
}

/**
 * POST /v1/notifications: what another service publishes with an API key.
 * The recipients are resolved and their notifications written in one
 * transaction, through the statement the domain modules use (DomainEvents):
 * one insert for all of them (up to 1,000), ids in commit order.
 */
@Injectable()
export class PublishService {
  constructor(
    private readonly transactions: TransactionRunner,
    private readonly events: DomainEvents,
    private readonly idempotency: Idempotency,
    private readonly topics: TopicsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * With an Idempotency-Key: the key's earlier answer (replayed), or this one's,
   * stored with the notifications in their transaction.
   */
  async publish(caller: ApiCaller, input: PublishDto, key?: string): Promise<PublishAnswer> {
    checkRecipients(input);
    const print = key === undefined ? null : fingerprint(input);
    let replayed: StoredAnswer | null = null;
    const published = await this.transactions.run(async (tx) => {
      if (key !== undefined) {
        replayed = await this.idempotency.claim(tx, caller.keyId, key, print!);
        if (replayed) return null;
      }
      const result = await this.write(tx, input);
      if (key !== undefined)
        await this.idempotency.record(tx, caller.keyId, key, print!, { status: 201, body: result });
      return result;
    });
    if (published === null) return { ...replayed!, replayed: true };
    // Internal, for the test of a crash between the commit and the answer.
    if (this.config.api.testExitAfterCommit) process.kill(process.pid, 'SIGKILL');
    return { status: 201, body: published, replayed: false };
  }

  /** The notifications of one request, in `tx` (last in it: publishing takes the id lock). */
  async write(tx: Tx, input: PublishDto): Promise<Published> {
    if (input.to.topic !== undefined) {
      // One row, its audience the topic's subscribers of now (like a broadcast to userIds).
      const userIds = await this.topics.audience(tx.manager, input.to.topic);
      const row = await this.events.broadcastDraft(tx, {
        ...content(input),
        audience: { kind: 'users', userIds },
        expiresAt: null,
        createdBy: null,
        deliver: [...new Set(input.deliver ?? [])],
      });
      return { ids: [row.id], skipped: [] };
    }
    const { known, skipped } = await this.recipients(tx.manager, input);
    const drafts: PersonalDraft[] = known.map((userId) => ({ userId, ...content(input) }));
    const rows = await this.events.publishDrafts(tx, drafts);
    return { ids: rows.map((r) => String(r.id)), skipped };
  }

  /**
   * Who of the given users or emails exists and is enabled, in the order given
   * (each user once), and what was given for the others: one query for all.
   */
  private async recipients(manager: EntityManager, input: PublishDto): Promise<{ known: string[]; skipped: string[] }> {
    const byEmail = input.to.emails !== undefined;
    const given = byEmail ? input.to.emails! : input.to.userIds!;
    const rows: Array<{ id: string | null }> = await manager.query(
      `SELECT u.id::text AS id
         FROM unnest($1::text[]) WITH ORDINALITY AS x(given, ord)
         LEFT JOIN users u ON ${byEmail ? 'u.email = x.given' : 'u.id = x.given::bigint'} AND u.disabled_at IS NULL
        ORDER BY x.ord`,
      [byEmail ? given.map(normalizeEmail) : given],
    );
    const known: string[] = [];
    const seen = new Set<string>();
    const skipped: string[] = [];
    rows.forEach((row, i) => {
      if (row.id === null) skipped.push(given[i]);
      else if (!seen.has(row.id)) {
        seen.add(row.id);
        known.push(row.id);
      }
    });
    return { known, skipped };
  }
}

/** What every notification of a request shows. */
function content(input: PublishDto) {
  return {
    channel: input.channel,
    type: input.type ?? `${input.channel}.message`,
    severity: input.severity ?? 'info',
    title: input.title,
    body: input.body,
    data: input.data ?? {},
  } as const;
}

function checkRecipients(input: PublishDto): void {
  const given = (['userIds', 'emails', 'topic'] as const).filter((k) => input.to[k] !== undefined);
  if (given.length !== 1) throw invalid('to must have exactly one of userIds, emails or topic');
}
