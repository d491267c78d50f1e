import type { MigrationInterface, QueryRunner } from 'typeorm';

export class UserLocale1797500000200 implements MigrationInterface {
  name = 'UserLocale1797500000200';

  async up(q: QueryRunner): Promise<void> {
    // BCP 47, canonical form (src/users/locale.ts). Existing users get English; a constant default
    // rewrites no row.
    await q.query(`ALTER TABLE users ADD COLUMN locale text NOT NULL DEFAULT 'en'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users DROP COLUMN locale`);
  }
}
