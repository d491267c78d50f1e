import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ApiKeys1797300000000 implements MigrationInterface {
  name = 'ApiKeys1797300000000';

  async up(q: QueryRunner): Promise<void> {
    // Only the SHA-256 of a key is kept: the key is 32+ random characters, so a fast hash is
    // as good as a slow one and costs nothing per request. `prefix` lets an admin tell keys apart.
    await q.query(`
      CREATE TABLE api_keys (
        id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        prefix       text NOT NULL,
        key_hash     bytea NOT NULL UNIQUE,
        created_by   bigint REFERENCES users (id) ON DELETE SET NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz,
        revoked_at   timestamptz
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE api_keys`);
  }
}
