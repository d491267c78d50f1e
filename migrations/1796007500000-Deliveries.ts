import PgBoss from 'pg-boss';
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Deliveries1796007500000 implements MigrationInterface {
  name = 'Deliveries1796007500000';

  async up(q: QueryRunner): Promise<void> {
    // The source of truth for "was it sent": one row per (notification, user, method),
    // never two, so a retried or duplicated job can only ever claim it once.
    // status 'sending' is the claim (shown as 'scheduled' by the API); a claim whose
    // process died is swept to 'failed' with "outcome unknown" (docs/delivery.md).
    await q.query(`
      CREATE TABLE deliveries (
        id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        notification_id bigint NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
        user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        method          text NOT NULL CHECK (method IN ('push', 'email')),
        status          text NOT NULL CHECK (status IN ('scheduled', 'sending', 'sent', 'failed', 'cancelled')),
        attempts        integer NOT NULL DEFAULT 0,
        not_before      timestamptz NOT NULL DEFAULT now(),
        claimed_at      timestamptz,
        sent_at         timestamptz,
        error           text,
        created_at      timestamptz NOT NULL DEFAULT now(),
        UNIQUE (notification_id, user_id, method)
      )`);
    // The send job's claim: a user's due rows of one method.
    await q.query(
      `CREATE INDEX deliveries_due_idx ON deliveries (user_id, method, not_before) WHERE status = 'scheduled'`,
    );
    await q.query(`CREATE INDEX deliveries_sending_idx ON deliveries (claimed_at) WHERE status = 'sending'`);
    await q.query(`CREATE INDEX deliveries_failed_idx ON deliveries (id) WHERE status = 'failed'`);

    // (notification, user) pairs some instance wrote to an open stream of the user:
    // such a notification was seen live and does not escalate. Flushed in batches.
    await q.query(`
      CREATE TABLE notification_streamed (
        notification_id bigint NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
        user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        PRIMARY KEY (notification_id, user_id)
      )`);

    // One row per browser; the endpoint is the push service's URL for it.
    await q.query(`
      CREATE TABLE push_subscriptions (
        id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        endpoint   text NOT NULL UNIQUE,
        p256dh     text NOT NULL,
        auth       text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX push_subscriptions_user_idx ON push_subscriptions (user_id)`);

    // pg-boss's own tables, installed here so that every database (and the tests'
    // template) has them before the first instance starts; pg-boss migrates them
    // itself on later upgrades. Its script brings its own BEGIN/COMMIT: the migration
    // already runs in a transaction, so those two are dropped.
    const plans = PgBoss.getConstructionPlans('pgboss');
    await q.query(plans.replace(/^\s*BEGIN;/, '').replace(/COMMIT;\s*$/, ''));
    // The queues too: created at run time by two instances starting at once, pg-boss's
    // partition DDL deadlocks; migrations run one at a time.
    const options = {
      policy: 'standard',
      retryLimit: 10,
      retryDelay: 1,
      retryBackoff: true,
      expireInSeconds: 60,
      retentionMinutes: 24 * 60,
    };
    for (const name of ['escalate', 'escalate-broadcast', 'deliver']) {
      await q.query(`SELECT pgboss.create_queue($1, $2::json)`, [name, JSON.stringify(options)]);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP SCHEMA IF EXISTS pgboss CASCADE`);
    await q.query(`DROP TABLE push_subscriptions`);
    await q.query(`DROP TABLE notification_streamed`);
    await q.query(`DROP TABLE deliveries`);
  }
}
