import type { MigrationInterface, QueryRunner } from 'typeorm';

const QUEUES = ['deliver-push', 'deliver-email'];

export class DeliveryQueuePerMethod1796008100000 implements MigrationInterface {
  name = 'DeliveryQueuePerMethod1796008100000';

  async up(q: QueryRunner): Promise<void> {
    // A send queue per delivery method (src/delivery/job-queue.ts, queueOf), with the policy of
    // "deliver" (copied from it): a slow push service no longer holds the workers that send email. "deliver"
    // stays and is drained: instances of the previous version keep queueing there until they stop.
    for (const name of QUEUES) {
      await q.query(
        `SELECT pgboss.create_queue($1, json_build_object(
           'policy', policy, 'retryLimit', retry_limit, 'retryDelay', retry_delay, 'retryBackoff', retry_backoff,
           'expireInSeconds', expire_seconds, 'retentionMinutes', retention_minutes))
           FROM pgboss.queue WHERE name = 'deliver'`,
        [name],
      );
    }
  }

  async down(q: QueryRunner): Promise<void> {
    // Jobs still waiting in these queues go with them; the sweep re-queues their due rows.
    for (const name of QUEUES) await q.query(`SELECT pgboss.delete_queue($1)`, [name]);
  }
}
