import type { MigrationInterface, QueryRunner } from 'typeorm';

const QUEUES = ['deliver-push', 'deliver-email'];

export class DeliveryQueuePerMethod1796008100000 implements MigrationInterface {
  name = 'DeliveryQueuePerMethod1796008100000';

  async up(q: QueryRunner): Promise<void> {
    // A send queue per delivery method (src/delivery/job-queue.ts, queueOf), with the policy of
    // "deliver": a slow push service no longer holds the workers that send email. "deliver"
    // stays and is drained: instances of the previous version keep queueing there until they stop.
    const options = {
      policy: 'standard',
      retryLimit: 10,
      retryDelay: 1,
      retryBackoff: true,
      expireInSeconds: 60,
      retentionMinutes: 24 * 60,
    };
    for (const name of QUEUES) {
      await q.query(`SELECT pgboss.create_queue($1, $2::json)`, [name, JSON.stringify(options)]);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    // Jobs still waiting in these queues go with them; the sweep re-queues their due rows.
    for (const name of QUEUES) await q.query(`SELECT pgboss.delete_queue($1)`, [name]);
  }
}
