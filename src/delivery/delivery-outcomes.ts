import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';

export interface Outcome {
  status: 'sent' | 'failed' | 'scheduled';
  error: string | null;
  retryAt?: number;
}

interface Pending {
  ids: string[];
  outcome: Outcome;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** Outcomes written by one statement at most: bounds its parameters. */
const MAX_PER_STATEMENT = 5000;
/**
 * How long outcomes gather before a statement goes: at a broadcast's rate one statement then
 * carries tens (a statement per one or two sends cost a tenth of an email's CPU in socket
 * writes); a single send's outcome waits this much more, which no one notices.
 */
const GATHER_MS = 10;

/**
 * Writes delivery outcomes right after the provider answered, grouped: those that end within
 * GATHER_MS, or while a statement is in flight, go together in one UPDATE. A database outage at
 * that moment is waited out, for up to the claim timeout, rather than left to the sweep
 * ("outcome unknown").
 */
export class DeliveryOutcomes {
  private readonly logger = new Logger('Sender');
  private readonly queue: Pending[] = [];
  private flushing = false;

  constructor(private readonly db: DataSource) {}

  /** Resolves once the outcome of these delivery rows (ids) is committed. */
  record(ids: string[], outcome: Outcome): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ ids, outcome, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        setTimeout(() => void this.flush(), GATHER_MS);
      }
    });
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch: Pending[] = [];
      for (let n = 0; this.queue.length > 0 && n < MAX_PER_STATEMENT;) {
        const p = this.queue.shift()!;
        batch.push(p);
        n += p.ids.length;
      }
      try {
        await this.write(batch);
        for (const p of batch) p.resolve();
      } catch (err) {
        for (const p of batch) p.reject(err as Error);
      }
    }
    this.flushing = false;
  }

  private async write(batch: Pending[]): Promise<void> {
    const rows = batch.flatMap((p) => p.ids.map((id) => ({ id, o: p.outcome })));
    const params = [
      rows.map((r) => r.id),
      rows.map((r) => r.o.status),
      rows.map((r) => r.o.error),
      rows.map((r) => (r.o.retryAt ? new Date(r.o.retryAt) : null)),
    ];
    const deadline = Date.now() + 60_000;
    for (let wait = 200; ; wait = Math.min(wait * 2, 5000)) {
      try {
        await this.db.query(
          `UPDATE deliveries d SET status = o.status, error = COALESCE(o.error, d.error),
                  sent_at = CASE WHEN o.status = 'sent' THEN now() END,
                  not_before = COALESCE(o.retry_at, d.not_before)
             FROM unnest($1::bigint[], $2::text[], $3::text[], $4::timestamptz[]) AS o(id, status, error, retry_at)
            WHERE d.id = o.id AND d.status = 'sending'`,
          params,
        );
        return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        this.logger.warn(`Recording ${rows.length} delivery outcomes failed, retrying: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }
}
