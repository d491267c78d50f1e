import { Inject, Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { DomainError, invalid } from '../common/domain-error.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/env.js';
import { TransactionRunner } from '../database/transaction.js';
import { DomainEvents } from '../events/domain-events.service.js';
import { canonicalTranslations, localized, type Translations } from '../events/translations.dto.js';
import { normalizeEmail } from '../users/email.js';
import type { ApiCaller } from './api-keys.service.js';
import { fingerprint, Idempotency, type IdempotencyRecord, inProgress, type StoredAnswer } from './idempotency.js';
import type { PublishDto } from './publish.dto.js';
import { TopicsService } from './topics.service.js';

export interface Published {
  ids: string[];
  skipped: string[];
}

export interface PublishAnswer extends StoredAnswer {
  replayed: boolean;
}

/** A personal request waiting for its batch. */
interface Job {
  keyId: string;
  input: PublishDto;
  key?: string;
  print?: Buffer;
  known: string[];
  /** Each known recipient's locale: a personal notification is written in it. */
  locales: Map<string, string>;
  skipped: string[];
  resolve: (answer: PublishAnswer) => void;
  reject: (err: unknown) => void;
}

/** Rows per batch at most (one request's 1,000 always fits alone). */
const BATCH_ROWS = 2000;

/**
 * POST /v1/notifications: what another service publishes with an API key,
 * through the statement the domain modules use (DomainEvents): ids in commit
 * order, in the order given. Personal requests are group-committed, as
 * `POST /orders` and NotificationPublisher.send are: while one batch commits,
 * the requests that arrive gather and then go out in one transaction, one
 * insert for all their notifications, with their Idempotency-Keys claimed and
 * recorded in it. Every transaction takes the id lock through its commit, so
 * one per request would queue on it, one fsync each.
 */
@Injectable()
export class PublishService {
  private queue: Job[] = [];
  private inFlight = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: DataSource,
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
    const print = key === undefined ? undefined : fingerprint(input);
    if (input.to.topic !== undefined) return this.publishToTopic(caller, input, key, print);
    const { known, locales, skipped } = await this.recipients(this.db.manager, input);
    return new Promise((resolve, reject) => {
      this.queue.push({ keyId: caller.keyId, input, key, print, known, locales, skipped, resolve, reject });
      if (!this.inFlight && !this.timer) this.timer = setTimeout(() => this.flush(), 1);
    });
  }

  /** One row for the topic's subscribers of now, in a transaction of its own. */
  private async publishToTopic(caller: ApiCaller, input: PublishDto, key?: string, print?: Buffer) {
    let replayed: StoredAnswer | null = null;
    const published = await this.transactions.run(async (tx) => {
      if (key !== undefined) {
        replayed = await this.idempotency.claim(tx, caller.keyId, key, print!);
        if (replayed) return null;
      }
      // Its audience is frozen here, like a broadcast to userIds.
      const userIds = await this.topics.audience(tx.manager, input.to.topic!);
      const row = await this.events.broadcastDraft(tx, {
        ...content(input),
        translations: canonicalTranslations(input.translations),
        audience: { kind: 'users', userIds },
        expiresAt: null,
        createdBy: null,
        deliver: [...new Set(input.deliver ?? [])],
      });
      const result: Published = { ids: [row.id], skipped: [] };
      if (key !== undefined)
        await this.idempotency.record(tx, [
          { keyId: caller.keyId, key, print: print!, answer: { status: 201, body: result } },
        ]);
      return result;
    });
    if (published === null) return { ...replayed!, replayed: true };
    this.committed();
    return { status: 201, body: published, replayed: false };
  }

  private flush(): void {
    this.timer = null;
    if (this.inFlight || this.queue.length === 0) return;
    let rows = 0;
    let n = 0;
    while (n < this.queue.length && (n === 0 || rows + this.queue[n].known.length <= BATCH_ROWS)) {
      rows += this.queue[n].known.length;
      n++;
    }
    const batch = this.queue.splice(0, n);
    this.inFlight = true;
    this.commitBatch(batch)
      .catch((err: unknown) => batch.forEach((job) => job.reject(err)))
      .finally(() => {
        this.inFlight = false;
        // These waited for a commit already: no extra delay.
        if (this.queue.length > 0) this.flush();
      });
  }

  /** One transaction: each keyed request's claim, one insert for every request that writes, their keys recorded. */
  private async commitBatch(batch: Job[]): Promise<void> {
    const answers = new Map<Job, PublishAnswer | DomainError>();
    await this.transactions.run(async (tx) => {
      const writing: Job[] = [];
      const claimed = new Set<string>();
      for (const job of batch) {
        if (job.key !== undefined) {
          const id = `${job.keyId}:${job.key}`;
          // A second request with the key in this very batch: the first is in progress.
          if (claimed.has(id)) {
            answers.set(job, inProgress());
            continue;
          }
          try {
            const replay = await this.idempotency.claim(tx, job.keyId, job.key, job.print!);
            if (replay) {
              answers.set(job, { ...replay, replayed: true });
              continue;
            }
          } catch (err) {
            if (!(err instanceof DomainError)) throw err;
            answers.set(job, err);
            continue;
          }
          claimed.add(id);
        }
        writing.push(job);
      }
      const drafts = writing.flatMap((job) => {
        const translations = canonicalTranslations(job.input.translations);
        return job.known.map((userId) => ({ userId, ...content(job.input, job.locales.get(userId), translations) }));
      });
      const rows = await this.events.publishDrafts(tx, drafts);
      let at = 0;
      const records: IdempotencyRecord[] = [];
      for (const job of writing) {
        const body: Published = {
          ids: rows.slice(at, (at += job.known.length)).map((r) => String(r.id)),
          skipped: job.skipped,
        };
        answers.set(job, { status: 201, body, replayed: false });
        if (job.key !== undefined)
          records.push({ keyId: job.keyId, key: job.key, print: job.print!, answer: { status: 201, body } });
      }
      await this.idempotency.record(tx, records);
    });
    if ([...answers.values()].some((a) => !(a instanceof DomainError) && !a.replayed)) this.committed();
    for (const job of batch) {
      const answer = answers.get(job)!;
      if (answer instanceof DomainError) job.reject(answer);
      else job.resolve(answer);
    }
  }

  /** After a commit that wrote, before any answer. */
  private committed(): void {
    // Internal, for the test of a crash between the commit and the answer.
    if (this.config.api.testExitAfterCommit) process.kill(process.pid, 'SIGKILL');
  }

  /**
   * Who of the given users or emails exists and is enabled, in the order given
   * (each user once), and what was given for the others: one query for all.
   */
  private async recipients(
    manager: EntityManager,
    input: PublishDto,
  ): Promise<{ known: string[]; locales: Map<string, string>; skipped: string[] }> {
    const byEmail = input.to.emails !== undefined;
    const given = byEmail ? input.to.emails! : input.to.userIds!;
    const rows: Array<{ id: string | null; locale: string | null }> = await manager.query(
      `SELECT u.id::text AS id, u.locale
         FROM unnest($1::text[]) WITH ORDINALITY AS x(given, ord)
         LEFT JOIN users u ON ${byEmail ? 'u.email = x.given' : 'u.id = x.given::bigint'} AND u.disabled_at IS NULL
        ORDER BY x.ord`,
      [byEmail ? given.map(normalizeEmail) : given],
    );
    const known: string[] = [];
    const locales = new Map<string, string>();
    const seen = new Set<string>();
    const skipped: string[] = [];
    rows.forEach((row, i) => {
      if (row.id === null) skipped.push(given[i]);
      else if (!seen.has(row.id)) {
        seen.add(row.id);
        known.push(row.id);
        locales.set(row.id, row.locale!);
      }
    });
    return { known, locales, skipped };
  }
}

/**
 * What every notification of a request shows; to one recipient (`locale` given), in their
 * language if `translations` has it: a personal row is written once, for its one reader.
 */
function content(input: PublishDto, locale?: string, translations?: Translations) {
  const { title, body } = localized({ title: input.title, body: input.body, translations }, locale);
  return {
    channel: input.channel,
    type: input.type ?? `${input.channel}.message`,
    severity: input.severity ?? 'info',
    title,
    body,
    data: input.data ?? {},
    actions: input.actions ?? [],
  } as const;
}

function checkRecipients(input: PublishDto): void {
  const given = (['userIds', 'emails', 'topic'] as const).filter((k) => input.to[k] !== undefined);
  if (given.length !== 1) throw invalid('to must have exactly one of userIds, emails or topic');
}
