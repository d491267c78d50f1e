import type { MigrationInterface, QueryRunner } from 'typeorm';

export class IdempotencyKeys1797300100000 implements MigrationInterface {
  name = 'IdempotencyKeys1797300100000';

  async up(q: QueryRunner): Promise<void> {
    // Written in the transaction of the notifications it answers for: it exists if and only if they do.
    await q.query(`
      CREATE TABLE idempotency_keys (
        api_key_id  bigint NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
        key         text NOT NULL,
        fingerprint bytea NOT NULL,
        status      integer NOT NULL,
        response    jsonb NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (api_key_id, key)
      )`);
    await q.query(`CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE idempotency_keys`);
  }
}
