import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Stream marks lose their key into notifications. The key cost each mark a lookup in the
 * partitioned table and a lock on the notification's row (a WAL record): at 10,000 targeted
 * notifications a second, the marks' INSERT took more of the database than the notifications'
 * own (docs/performance.md). The INSERT joins notifications already (a deleted one gets no
 * mark), and the delivery sweep forgets the marks below retention's horizon, as the cascade
 * did when a partition went (src/delivery/stream-marks.ts). The key to users stays: deleting a
 * user takes their marks.
 */
export class StreamMarksWithoutKey1797700000000 implements MigrationInterface {
  name = 'StreamMarksWithoutKey1797700000000';

  async up(q: QueryRunner): Promise<void> {
    const keys: Array<{ name: string }> = await q.query(
      `SELECT quote_ident(conname) AS name FROM pg_constraint
        WHERE conrelid = 'notification_streamed'::regclass AND confrelid = 'notifications'::regclass AND conparentid = 0`,
    );
    for (const { name } of keys) await q.query(`ALTER TABLE notification_streamed DROP CONSTRAINT ${name}`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `DELETE FROM notification_streamed s WHERE NOT EXISTS (SELECT FROM notifications n WHERE n.id = s.notification_id)`,
    );
    await q.query(`ALTER TABLE notification_streamed ADD CONSTRAINT notification_streamed_notification_id_fkey
      FOREIGN KEY (notification_id) REFERENCES notifications (id) ON DELETE CASCADE`);
  }
}
