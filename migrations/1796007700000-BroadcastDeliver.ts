import type { MigrationInterface, QueryRunner } from 'typeorm';

export class BroadcastDeliver1796007700000 implements MigrationInterface {
  name = 'BroadcastDeliver1796007700000';

  async up(q: QueryRunner): Promise<void> {
    // A broadcast's `deliver` methods, on its row: the stream hub reads rows, not jobs, and
    // must tell a broadcast that escalates from one that never does, to write stream marks
    // only for the first (src/notifications/stream-hub.ts). NULL: in-app only, and always
    // NULL on personal rows (they escalate by the user's preferences). A nullable column
    // without a default is a catalogue change, no table rewrite.
    // NOT VALID: every existing row is NULL and passes by construction, so the check needs no
    // scan of the whole table under this migration's exclusive lock; new rows are checked.
    await q.query(`
      ALTER TABLE notifications
        ADD COLUMN deliver text[],
        ADD CONSTRAINT notifications_deliver
          CHECK (deliver IS NULL OR (user_id IS NULL AND cardinality(deliver) > 0 AND deliver <@ ARRAY['push', 'email']))
          NOT VALID`);
    // Broadcasts whose escalation is still pending get their methods from its job, so that
    // tabs that see them from now on still stop their push and email.
    await q.query(`
      UPDATE notifications n SET deliver = j.methods
        FROM (SELECT DISTINCT (data->>'notificationId')::bigint AS id,
                     ARRAY(SELECT jsonb_array_elements_text(data->'methods')) AS methods
                FROM pgboss.job
               WHERE name = 'escalate-broadcast' AND state IN ('created', 'retry', 'active')) j
       WHERE n.id = j.id AND n.user_id IS NULL AND cardinality(j.methods) > 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE notifications DROP CONSTRAINT notifications_deliver, DROP COLUMN deliver`);
  }
}
