import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DomainError } from '../common/domain-error.js';
import { normalizeEmail } from '../users/email.js';

/**
 * Failed sign-ins counted per email and per client address in fixed windows,
 * in Postgres so that every instance behind the balancer shares the count.
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

  async assertAllowed(email: string, ip: string): Promise<void> {
    const [emailKey, ipKey] = this.keys(email, ip);
    const rows: Array<{ key: string }> = await this.db.query(
      `SELECT key FROM login_failures
        WHERE window_start > now() - make_interval(mins => $3)
          AND ((key = $1 AND failures >= $4) OR (key = $2 AND failures >= $5))`,
      [emailKey, ipKey, LOGIN_WINDOW_MINUTES, MAX_FAILURES_PER_EMAIL, MAX_FAILURES_PER_ADDRESS],
    );
    if (rows.length > 0) throw new DomainError('TOO_MANY', 'Too many failed sign-ins; try again later');
  }

  async recordFailure(email: string, ip: string): Promise<void> {
    await this.db.query(
      `INSERT INTO login_failures (key, window_start, failures)
       SELECT k, now(), 1 FROM unnest($1::text[]) AS k
       ON CONFLICT (key) DO UPDATE SET
         failures = CASE WHEN login_failures.window_start <= now() - make_interval(mins => $2)
                         THEN 1 ELSE login_failures.failures + 1 END,
         window_start = CASE WHEN login_failures.window_start <= now() - make_interval(mins => $2)
                             THEN now() ELSE login_failures.window_start END`,
      [this.keys(email, ip), LOGIN_WINDOW_MINUTES],
    );
  }

  async recordSuccess(email: string): Promise<void> {
    await this.db.query(`DELETE FROM login_failures WHERE key = $1`, [this.keys(email, '')[0]]);
  }

  /** Old windows are worthless; called by the periodic cleanup. */
  async prune(): Promise<void> {
    await this.db.query(`DELETE FROM login_failures WHERE window_start < now() - make_interval(mins => $1)`, [
      LOGIN_WINDOW_MINUTES,
    ]);
  }
}
