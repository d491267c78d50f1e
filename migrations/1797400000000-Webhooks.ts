import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Webhooks1797400000000 implements MigrationInterface {
  name = 'Webhooks1797400000000';

  async up(q: QueryRunner): Promise<void> {
    // The secret signs every message, so it is kept as it was shown (an HMAC key cannot be
    // stored hashed). After a rotation the previous one signs too, until previous_until.
    await q.query(`
      CREATE TABLE webhooks (
        id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        url             text NOT NULL,
        events          text[] NOT NULL CHECK (cardinality(events) > 0),
        description     text,
        enabled         boolean NOT NULL DEFAULT true,
        disabled_reason text,
        secret          text NOT NULL,
        previous_secret text,
        previous_until  timestamptz,
        created_at      timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now()
      )`);
    // One row per (event, webhook): its webhook-id, body (signed as stored, the same bytes on
    // every retry) and where it stands. 'sending' is a claim; a claim whose process died is
    // handed back to 'pending' by the sweep (at least once).
    await q.query(`
      CREATE TABLE webhook_messages (
        id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        webhook_id       bigint NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
        msg_id           text NOT NULL UNIQUE,
        event            text NOT NULL,
        body             text NOT NULL,
        status           text NOT NULL CHECK (status IN ('pending', 'sending', 'delivered', 'failed')),
        attempts         integer NOT NULL DEFAULT 0,
        last_status_code integer,
        last_error       text,
        next_attempt_at  timestamptz NOT NULL DEFAULT now(),
        claimed_at       timestamptz,
        delivered_at     timestamptz,
        created_at       timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `CREATE INDEX webhook_messages_due_idx ON webhook_messages (webhook_id, next_attempt_at) WHERE status = 'pending'`,
    );
    await q.query(
      `CREATE INDEX webhook_messages_sending_idx ON webhook_messages (claimed_at) WHERE status = 'sending'`,
    );
    await q.query(`CREATE INDEX webhook_messages_list_idx ON webhook_messages (webhook_id, id)`);
    // Retention: finished messages older than RETENTION_DAYS go (with their attempts).
    await q.query(`CREATE INDEX webhook_messages_created_idx ON webhook_messages (created_at)`);
    // The attempts log: one row per request made (or refused before it was made).
    await q.query(`
      CREATE TABLE webhook_attempts (
        id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        message_id  bigint NOT NULL REFERENCES webhook_messages (id) ON DELETE CASCADE,
        attempt     integer NOT NULL,
        status_code integer,
        error       text,
        duration_ms integer NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX webhook_attempts_message_idx ON webhook_attempts (message_id)`);
    // The send queue: one job drains one webhook's due messages (src/webhooks/webhook-sender.ts).
    // Retries are the messages' own schedule, not pg-boss's: a failed job is only tried again.
    await q.query(`SELECT pgboss.create_queue('webhook-deliver', $1::json)`, [
      JSON.stringify({
        policy: 'standard',
        retryLimit: 10,
        retryDelay: 1,
        retryBackoff: true,
        expireInSeconds: 120,
        retentionMinutes: 24 * 60,
      }),
    ]);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`SELECT pgboss.delete_queue('webhook-deliver')`);
    await q.query(`DROP TABLE webhook_attempts`);
    await q.query(`DROP TABLE webhook_messages`);
    await q.query(`DROP TABLE webhooks`);
  }
}
