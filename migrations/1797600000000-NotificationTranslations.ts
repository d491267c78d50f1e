import type { MigrationInterface, QueryRunner } from 'typeorm';

export class NotificationTranslations1797600000000 implements MigrationInterface {
  name = 'NotificationTranslations1797600000000';

  async up(q: QueryRunner): Promise<void> {
    // A broadcast's (or topic notification's) texts per locale, `{ "de": { "title", "body" } }`,
    // picked per viewer when it is shown. NULL: none (every personal row, written in its
    // recipient's language), so adding the column rewrites no existing row.
    await q.query(`ALTER TABLE notifications ADD COLUMN translations jsonb`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE notifications DROP COLUMN translations`);
  }
}
