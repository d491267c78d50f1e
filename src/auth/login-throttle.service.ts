import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DomainError } from '../common/domain-error.js';
import { normalizeEmail } from '../users/email.js';

/**
 * Sign-ins that did not succeed (failed, blocked or still being checked) counted per
 * email and per client address in fixed windows, in Postgres so that every instance
 * behind the balancer shares the count.
 */
export const LOGIN_WINDOW_MINUTES = 15;
export const MAX_FAILURES_PER_EMAIL = 5;
export const MAX_FAILURES_PER_ADDRESS = 30;

@Injectable()
export class LoginThrottleService {
  constructor(private readonly db: DataSource) {}

  private keys(email: string, ip: string): [string, string] {
    return [`email:${normalizeEmail(email)}`, `ip:${ip}`];
  }

  /**
   * Counts this sign-in against its email and its address *before* the password is checked,
   * and throws 429 once either is over its limit in the current window. Counting only
   * failures, after the check, let a burst of concurrent attempts all pass a check made
   * before any of them was counted: 20 guesses at once for one email instead of 5. Blocked
   * attempts count too (the fixed window does not move). A success or an attempt that was
   * never checked gives its count back (`succeeded`, `release`).
   */
  async attempt(email: string, ip: string): Promise<void> {
    const [emailKey] = this.keys(email, ip);
    // One statement for both rows, always in the same order (email, then address): concurrent
    // attempts queue on the rows and each gets a count of its own.
    const rows: Array<{ key: string; failures: number }> = await this.db.query(
      `INSERT INTO login_failures (key, window_start, failures)
       SELECT k, now(), 1 FROM unnest($1::text[]) AS k
       ON CONFLICT (key) DO UPDATE SET
         failures = CASE WHEN login_failures.window_start <= now() - make_interval(mins => $2)
                         THEN 1 ELSE login_failures.failures + 1 END,
         window_start = CASE WHEN login_failures.window_start <= now() - make_interval(mins => $2)
                             THEN now() ELSE login_failures.window_start END
       RETURNING key, failures`,
      [this.keys(email, ip), LOGIN_WINDOW_MINUTES],
    );
    const over = rows.some(
      (r) => r.failures > (r.key === emailKey ? MAX_FAILURES_PER_EMAIL : MAX_FAILURES_PER_ADDRESS),
    );
    if (over) throw new DomainError('TOO_MANY', 'Too many failed sign-ins; try again later');
  }

  /** A successful sign-in: the email starts afresh, and the attempt no longer counts against the address. */
  async succeeded(email: string, ip: string): Promise<void> {
    const [emailKey, ipKey] = this.keys(email, ip);
    // One row per statement: a statement that locked both, in an order Postgres does not
    // promise, could deadlock with a concurrent attempt (email first, then address).
    await this.db.query(`DELETE FROM login_failures WHERE key = $1`, [emailKey]);
    await this.giveBack(ipKey);
  }

  /** An attempt whose password was never checked (the service was too busy to hash it) does not count. */
  async release(email: string, ip: string): Promise<void> {
    for (const key of this.keys(email, ip)) await this.giveBack(key);
  }

  private async giveBack(key: string): Promise<void> {
    await this.db.query(`UPDATE login_failures SET failures = greatest(failures - 1, 0) WHERE key = $1`, [key]);
  }

  /** Old windows are worthless; called by the periodic cleanup. */
  async prune(): Promise<void> {
    await this.db.query(`DELETE FROM login_failures WHERE window_start < now() - make_interval(mins => $1)`, [
      LOGIN_WINDOW_MINUTES,
    ]);
  }
}
