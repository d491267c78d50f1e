import type { MigrationInterface, QueryRunner } from 'typeorm';

export class EscalationCursor1796007600000 implements MigrationInterface {
  name = 'EscalationCursor1796007600000';

  async up(q: QueryRunner): Promise<void> {
    // The last notification id the escalation has passed (src/delivery/escalation-scanner.ts).
    // Ids become visible in commit order (the publisher's id lock), so "id > last_id" never
    // skips a row. One row: the scanner locks it (FOR UPDATE SKIP LOCKED), which is also what
    // lets one instance at a time scan.
    await q.query(`
      CREATE TABLE escalation_cursor (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        last_id   bigint NOT NULL
      )`);
    // Starts at the newest row: what is older was published with an "escalate" job of its
    // own, which the escalate worker still runs (a deploy may find some queued).
    await q.query(`INSERT INTO escalation_cursor (last_id) SELECT COALESCE(max(id), 0) FROM notifications`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE escalation_cursor`);
  }
}
