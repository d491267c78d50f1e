import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';
import { DomainError, invalid } from '../common/domain-error.js';
import type { Tx } from '../database/transaction.js';

/** 1 to 255 printable ASCII characters (the IETF Idempotency-Key draft leaves the form to the server). */
const KEY_FORMAT = /^[\x20-\x7e]{1,255}$/;
/** How long a key answers for itself. */
const KEPT = "interval '24 hours'";
/** The first half of the two-part advisory lock on a key ("idmp"); the second is a hash of the key. */
const LOCK_CLASS = 0x69646d70;
const PRUNE_EVERY_MS = 60 * 60 * 1000;

export interface StoredAnswer {
  status: number;
  body: unknown;
}

export interface IdempotencyRecord {
  keyId: string;
  key: string;
  print: Buffer;
  answer: StoredAnswer;
}

export const inProgress = () =>
  new DomainError('CONFLICT', 'A request with this Idempotency-Key is still in progress; retry later');

/** The header's value, checked: undefined when absent. */
export function idempotencyKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (!KEY_FORMAT.test(header)) throw invalid('Idempotency-Key must be 1 to 255 printable ASCII characters');
  return header;
}

/** SHA-256 of the body as JSON with its object keys sorted: the same request however its keys were ordered. */
export function fingerprint(body: unknown): Buffer {
  return createHash('sha256')
    .update(JSON.stringify(canonical(body)))
    .digest();
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
  );
}

/**
 * Idempotency-Key (the IETF draft, as Stripe does it). The answer is stored in
 * the transaction that wrote the notifications, so it exists exactly when they
 * do: a process killed between its commit and its answer leaves a key that
 * replays, never one that writes again. While a request holds its key, a
 * transaction-scoped advisory lock says so to every other: 409, not a wait.
 * The lock is released by the commit (or the connection's end), after which a
 * retry's own read sees the committed answer.
 */
@Injectable()
export class Idempotency implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Idempotency');
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly db: DataSource) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.prune().catch((e: Error) => this.logger.warn(e.message)), PRUNE_EVERY_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /**
   * First in `tx`: the earlier answer for this key (to replay), or null when
   * this request is the first and must write. 409 while another holds the key,
   * 422 when the key was used with another body.
   */
  async claim(tx: Tx, keyId: string, key: string, print: Buffer): Promise<StoredAnswer | null> {
    const [{ locked }]: Array<{ locked: boolean }> = await tx.manager.query(
      `SELECT pg_try_advisory_xact_lock($1, hashtext($2)) AS locked`,
      [LOCK_CLASS, `${keyId}:${key}`],
    );
    if (!locked) throw inProgress();
    // A statement of its own, after the lock: its snapshot sees what the previous holder committed.
    const rows: Array<{ fingerprint: Buffer; status: number; response: unknown }> = await tx.manager.query(
      `SELECT fingerprint, status, response FROM idempotency_keys
        WHERE api_key_id = $1 AND key = $2 AND created_at > now() - ${KEPT}`,
      [keyId, key],
    );
    if (rows.length === 0) return null;
    if (!Buffer.from(rows[0].fingerprint).equals(print)) {
      throw new DomainError('UNPROCESSABLE', 'This Idempotency-Key was already used with a different request body');
    }
    return { status: rows[0].status, body: rows[0].response };
  }

  /** In the same `tx` as what they answer for, in one statement. An expired row the prune has not removed yet is replaced. */
  async record(tx: Tx, records: IdempotencyRecord[]): Promise<void> {
    if (records.length === 0) return;
    await tx.manager.query(
      `INSERT INTO idempotency_keys (api_key_id, key, fingerprint, status, response)
       SELECT * FROM unnest($1::bigint[], $2::text[], $3::bytea[], $4::int[], $5::jsonb[])
       ON CONFLICT (api_key_id, key) DO UPDATE
         SET fingerprint = EXCLUDED.fingerprint, status = EXCLUDED.status, response = EXCLUDED.response,
             created_at = now()`,
      [
        records.map((r) => r.keyId),
        records.map((r) => r.key),
        records.map((r) => r.print),
        records.map((r) => r.answer.status),
        records.map((r) => JSON.stringify(r.answer.body)),
      ],
    );
  }

  /** Keys older than 24 hours (already ignored by claim): safe on several instances at once. */
  async prune(): Promise<number> {
    const [, n]: [unknown[], number] = await this.db.query(
      `DELETE FROM idempotency_keys WHERE created_at <= now() - ${KEPT}`,
    );
    return n;
  }
}
