import type { MigrationInterface, QueryRunner } from 'typeorm';

/** As migrations/1796007500000-Deliveries.ts created the queue (for down()). */
const OPTIONS = { policy: 'standard', retryLimit: 10, retryDelay: 1, retryBackoff: true, expireInSeconds: 60 };
const RETENTION_MINUTES = 24 * 60;

export class DropLegacyEscalateQueue1796007800000 implements MigrationInterface {
  name = 'DropLegacyEscalateQueue1796007800000';

  async up(q: QueryRunner): Promise<void> {
    // Versions before the escalation cursor queued a job per publishing transaction in
    // "escalate"; nothing runs that queue any more. A job still waiting there would never run
    // and its notifications never go out, so this refuses until the queue is drained. The lock
    // keeps an instance of such a version from adding one between the count and the drop.
    await q.query(`LOCK TABLE pgboss.job IN SHARE ROW EXCLUSIVE MODE`);
    const [{ waiting }]: Array<{ waiting: number }> = await q.query(
      `SELECT count(*)::int AS waiting FROM pgboss.job
        WHERE name = 'escalate' AND state IN ('created', 'retry', 'active')`,
    );
    if (waiting > 0) {
      throw new Error(
        `${waiting} jobs still wait in the pg-boss queue "escalate", which this version no longer runs: ` +
          'deploy the previous release first and let it drain them (docs/decisions.md)',
      );
    }
    // pgboss.delete_queue() deletes the queue before its partition, which the partition's
    // finished jobs forbid (foreign key): the partition goes first here.
    await q.query(`
      DO $$
      DECLARE partition text;
      BEGIN
        SELECT partition_name INTO partition FROM pgboss.queue WHERE name = 'escalate';
        IF partition IS NOT NULL THEN
          EXECUTE format('DROP TABLE pgboss.%I', partition);
          DELETE FROM pgboss.queue WHERE name = 'escalate';
        END IF;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    const options = { ...OPTIONS, retentionMinutes: RETENTION_MINUTES };
    await q.query(`SELECT pgboss.create_queue('escalate', $1::json)`, [JSON.stringify(options)]);
  }
}
