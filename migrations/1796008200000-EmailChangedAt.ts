import type { MigrationInterface, QueryRunner } from 'typeorm';

export class EmailChangedAt1796008200000 implements MigrationInterface {
  name = 'EmailChangedAt1796008200000';

  async up(q: QueryRunner): Promise<void> {
    // Per channel, when its email setting last changed (ms since the epoch): an unsubscribe link
    // sent before that no longer applies (src/notifications/preferences.service.ts). A constant
    // default: no table rewrite.
    await q.query(`ALTER TABLE notification_preferences ADD COLUMN email_changed_at jsonb NOT NULL DEFAULT '{}'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE notification_preferences DROP COLUMN email_changed_at`);
  }
}
