import type { MigrationInterface, QueryRunner } from 'typeorm';

export class UsersAndSessions1763769600000 implements MigrationInterface {
  name = 'UsersAndSessions1763769600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE users (
        id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        email         text NOT NULL,
        password_hash text NOT NULL,
        role          text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
        display_name  text,
        created_at    timestamptz NOT NULL DEFAULT now(),
        disabled_at   timestamptz
      )`);
    // Emails are unique whatever their case: Alice@x and alice@x are one account.
    await q.query(`CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email))`);

    // The schema connect-pg-simple expects (its table.sql), owned by a migration
    // rather than created at run time.
    await q.query(`
      CREATE TABLE sessions (
        sid    varchar NOT NULL PRIMARY KEY,
        sess   json NOT NULL,
        expire timestamp(6) NOT NULL
      )`);
    await q.query(`CREATE INDEX sessions_expire_idx ON sessions (expire)`);

    // Failed sign-ins per key ("email:…", "ip:…") in fixed windows, shared by
    // every instance so throttling holds behind a load balancer.
    await q.query(`
      CREATE TABLE login_failures (
        key          text PRIMARY KEY,
        window_start timestamptz NOT NULL,
        failures     integer NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE login_failures`);
    await q.query(`DROP TABLE sessions`);
    await q.query(`DROP TABLE users`);
  }
}
