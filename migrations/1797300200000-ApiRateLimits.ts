import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ApiRateLimits1797300200000 implements MigrationInterface {
  name = 'ApiRateLimits1797300200000';

  async up(q: QueryRunner): Promise<void> {
    // rate-limiter-flexible's RateLimiterPostgres table (its own schema), made here rather than by the
    // library at start: the app's role need not create tables. Used when no Redis is configured.
    await q.query(`
      CREATE TABLE api_rate_limits (
        key    varchar(255) PRIMARY KEY,
        points integer NOT NULL DEFAULT 0,
        expire bigint
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE api_rate_limits`);
  }
}
