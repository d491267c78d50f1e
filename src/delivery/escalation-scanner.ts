import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/env.js';
import { TimerLoop } from '../common/timer-loop.js';
import { TransactionRunner } from '../database/transaction.js';
import { EscalationService } from './escalation.service.js';

/** Notifications per scan transaction: bounded time and memory whatever the backlog (after an outage). */
export const SCAN_PAGE = 500;

/**
 * A scan that holds the cursor and then stalls (a frozen process, a lost network) is ended
 * by Postgres after this long idle in its transaction: the lock goes, another instance goes on.
 */
const SCAN_IDLE_TIMEOUT = '10s';

/** After a failed scan (the database away): try again this much later. */
const RETRY_MS = 1000;

/**
 * How long until notification `n` falls due, in ms ($1: the delay); 0 or less: due. A
 * broadcast is always "due": the cursor only passes over it (a broadcast with `deliver` has
 * a job of its own). `created_at` is the publishing transaction's start, a few ms before its
 * commit.
 */
const WAIT_MS = `CASE WHEN n.user_id IS NULL THEN 0
  ELSE ceil(extract(epoch FROM n.created_at - now()) * 1000 + $1)::float8 END`;

/**
 * Both read past the cursor by the primary key (id > last_id ORDER BY id LIMIT n), whatever
 * the table's size; test/delivery-cursor.e2e.test.ts checks the plan.
 */
export const SCAN_SQL = {
  /** $1 delay. The first row past the cursor, no lock: one query per idle interval. */
  peek: `SELECT ${WAIT_MS} AS wait_ms
           FROM escalation_cursor c
           CROSS JOIN LATERAL (SELECT n.id, n.user_id, n.created_at FROM notifications n
                                WHERE n.id > c.last_id ORDER BY n.id LIMIT 1) n`,
  /**
   * $1 delay, $2 page size, $3 idle timeout. No row: another instance holds the cursor.
   * One row with a null id: nothing past it.
   */
  page: `SELECT n.id::text AS id, n.user_id IS NOT NULL AS personal, ${WAIT_MS} AS wait_ms
           FROM (SELECT last_id, set_config('idle_in_transaction_session_timeout', $3, true) AS _
                   FROM escalation_cursor FOR UPDATE SKIP LOCKED) c
           LEFT JOIN LATERAL (SELECT n.id, n.user_id, n.created_at FROM notifications n
                               WHERE n.id > c.last_id ORDER BY n.id LIMIT $2) n ON true
          ORDER BY n.id`,
};

export interface ScanResult {
  /** Another instance holds the cursor (it is scanning right now): nothing was done. */
  busy: boolean;
  /** Personal notifications this scan escalated. */
  escalated: number;
  /** ms until the next pending notification falls due; 0: more are due now (a full page); null: none pending. */
  nextInMs: number | null;
}

interface PageRow {
  /** null: nothing past the cursor. */
  id: string | null;
  personal: boolean;
  wait_ms: number;
}

interface Wake {
  ms: number;
  /** The first pending notification is due by then: scan without peeking first. */
  due: boolean;
}

/**
 * Escalates personal notifications by a durable cursor (`escalation_cursor.last_id`)
 * instead of a job written in every publishing transaction. Ids become visible in commit
 * order (the publisher's id lock), so "every personal notification with id > cursor"
 * never skips one, exactly like the stream feed.
 *
 * A scan is one transaction: lock the cursor row (FOR UPDATE SKIP LOCKED: one instance
 * scans at a time, the others skip and look again shortly), read a page past it in id
 * order, stop at the first personal row not yet due (ESCALATE_AFTER_MS plus one stream-mark
 * flush after its commit), escalate the rows before it (EscalationService, the send jobs
 * in the same transaction) and move the cursor past them. A crash or a lost connection
 * rolls all of it back and the next scan, here or elsewhere, redoes it; recording
 * deliveries is idempotent anyway (ON CONFLICT DO NOTHING).
 *
 * Timing, per instance: idle, one "peek" (the first row past the cursor, one primary-key
 * probe) every `idleMs`; once a row is pending, no query until it falls due (plus
 * `batchMs`, so that a burst falls into one run and one email digest per user), then the
 * scan. A pending row is seen at most `idleMs` after its commit, well before it is due, so
 * the idle interval adds no latency.
 */
@Injectable()
export class EscalationScanner implements OnModuleDestroy {
  private readonly logger = new Logger('EscalationScanner');
  private readonly delayMs: number;
  /** Between two peeks while nothing is pending: a quarter of ESCALATE_AFTER_MS, 50 ms to 5 s. */
  readonly idleMs: number;
  /** Waited past the first pending row's due time: a quarter of ESCALATE_AFTER_MS, 50 to 500 ms. */
  readonly batchMs: number;
  /** Personal notifications escalated by this instance (the tests add the instances up). */
  escalated = 0;
  private readonly loop = new TimerLoop();

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly db: DataSource,
    private readonly transactions: TransactionRunner,
    private readonly escalation: EscalationService,
  ) {
    this.delayMs = escalation.delayMs;
    const quarter = Math.floor(config.delivery.escalateAfterMs / 4);
    this.idleMs = Math.max(50, Math.min(5000, quarter));
    this.batchMs = Math.max(50, Math.min(500, quarter));
  }

  start(): void {
    this.loop.start(0, () => this.tick(false));
  }

  /** Before the data source closes: a scan in flight finishes (or fails and rolls back). */
  async onModuleDestroy(): Promise<void> {
    await this.loop.stop();
  }

  /** Never throws: whatever happens (the database restarting), the next wake is set. */
  private async tick(due: boolean): Promise<void> {
    let next: Wake;
    try {
      const wait = due ? 0 : await this.peek();
      if (wait === null) next = { ms: this.idleMs, due: false };
      else if (wait > 0) next = { ms: wait + this.batchMs, due: true };
      else next = this.after(await this.scan());
    } catch (err) {
      this.logger.warn(`Escalation scan failed, retried in ${RETRY_MS} ms: ${(err as Error).message}`);
      next = { ms: RETRY_MS, due: false };
    }
    this.loop.runIn(next.ms, () => this.tick(next.due));
  }

  private after(r: ScanResult): Wake {
    // Another instance is scanning: look again shortly, in case it dies in the middle.
    if (r.busy) return { ms: this.batchMs, due: false };
    if (r.nextInMs === null) return { ms: this.idleMs, due: false };
    if (r.nextInMs <= 0) return { ms: 0, due: true };
    return { ms: r.nextInMs + this.batchMs, due: true };
  }

  /** ms until the first notification past the cursor falls due (≤ 0: due); null: none. One query, no lock. */
  private async peek(): Promise<number | null> {
    const rows: Array<{ wait_ms: number }> = await this.db.query(SCAN_SQL.peek, [this.delayMs]);
    return rows.length === 0 ? null : rows[0].wait_ms;
  }

  /** One scan transaction (see the class comment). Public for the tests, which race several. */
  async scan(): Promise<ScanResult> {
    const result = await this.transactions.run(async (tx): Promise<ScanResult> => {
      const page: PageRow[] = await tx.manager.query(SCAN_SQL.page, [this.delayMs, SCAN_PAGE, SCAN_IDLE_TIMEOUT]);
      // No row: another instance holds the cursor. One row with a null id: nothing past it.
      if (page.length === 0) return { busy: true, escalated: 0, nextInMs: null };
      const rows = page[0].id === null ? [] : page;
      // Stop at the first row not yet due: the rows after it wait for the next scan, so the
      // cursor never passes a row that was not escalated.
      const stop = rows.findIndex((r) => r.wait_ms > 0);
      const taken = stop < 0 ? rows : rows.slice(0, stop);
      const nextInMs = stop >= 0 ? rows[stop].wait_ms : rows.length === SCAN_PAGE ? 0 : null;
      if (taken.length === 0) return { busy: false, escalated: 0, nextInMs };
      const personal = taken.filter((r) => r.personal).map((r) => r.id!);
      if (personal.length > 0) await this.escalation.escalatePersonal(personal, tx);
      await tx.manager.query(`UPDATE escalation_cursor SET last_id = $1`, [taken[taken.length - 1].id]);
      return { busy: false, escalated: personal.length, nextInMs };
    });
    // Counted once committed: a scan that rolled back escalated nothing.
    this.escalated += result.escalated;
    if (result.escalated > 0) this.logger.debug(`Escalated ${result.escalated} notifications`);
    return result;
  }
}
