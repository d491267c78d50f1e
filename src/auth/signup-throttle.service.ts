import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DomainError } from '../common/domain-error.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/env.js';

/**
 * Sign-ups per client address (SIGNUP_RATE_PER_MINUTE), counted before the password is
 * hashed: each one costs 19 MiB and a few milliseconds of a thread. Same store and
 * fixed-window pattern as the login throttle (the login_failures table, keys
 * "signup:<address>"), so every instance behind the balancer shares the count; its
 * periodic prune removes old windows too.
 */
@Injectable()
export class SignupThrottleService {
  constructor(
    private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Counts this attempt; throws 429 once the address is over its rate for the current minute. */
  async consume(ip: string): Promise<void> {
    const rows: Array<{ failures: number }> = await this.db.query(
      `INSERT INTO login_failures (key, window_start, failures) VALUES ($1, now(), 1)
       ON CONFLICT (key) DO UPDATE SET
         failures = CASE WHEN login_failures.window_start <= now() - interval '1 minute'
                         THEN 1 ELSE login_failures.failures + 1 END,
         window_start = CASE WHEN login_failures.window_start <= now() - interval '1 minute'
                             THEN now() ELSE login_failures.window_start END
       RETURNING failures`,
      [`signup:${ip}`],
    );
    if (rows[0].failures > this.config.signupRatePerMinute) {
      throw new DomainError('TOO_MANY', 'Too many sign-ups from this address; try again in a minute');
    }
  }
}
