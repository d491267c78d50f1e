import type { MigrationInterface, QueryRunner } from 'typeorm';

export class NotificationActions1797500000100 implements MigrationInterface {
  name = 'NotificationActions1797500000100';

  async up(q: QueryRunner): Promise<void> {
    // Up to 3 buttons per notification, stored once with it (broadcasts too). NULL: none, so
    // adding the column rewrites no existing row.
    await q.query(`ALTER TABLE notifications ADD COLUMN actions jsonb`);
    // A press per (user, notification, action): the last time it was pressed.
    await q.query(`
      CREATE TABLE notification_action_presses (
        user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        notification_id bigint NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
        action_id       text NOT NULL,
        pressed_at      timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (user_id, notification_id, action_id)
      )`);
    await q.query(
      `CREATE INDEX notification_action_presses_notification_idx ON notification_action_presses (notification_id)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE notification_action_presses`);
    await q.query(`ALTER TABLE notifications DROP COLUMN actions`);
  }
}
