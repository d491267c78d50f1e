import { describe, expect, it } from '@jest/globals';
import { NormalizeEmails1764460000000 } from '../migrations/1764460000000-NormalizeEmails.js';
import { migrationDatabase } from './support/migration-db.js';

/** Issue 13: the migration that puts existing emails in their one normal form. */
const db = migrationDatabase();
const migration = new NormalizeEmails1764460000000();

const emails = async () =>
  (
    (await db.ds.query(`SELECT email FROM users WHERE email <> 'admin@example.com' ORDER BY id`)) as Array<{
      email: string;
    }>
  ).map((r) => r.email);

describe('NormalizeEmails migration', () => {
  it('refuses on a collision, listing it and changing nothing; normalises once it is resolved', async () => {
    const runner = db.ds.createQueryRunner();
    try {
      await migration.down(runner); // the schema as it was: unique on lower(email)
      await db.ds.query(
        `INSERT INTO users (email, password_hash) VALUES
           ('Carol@Example.COM', 'x'), ('bob@example.com', 'x'), ('ｂｏｂ@example.com', 'x'), ('v\u0130ctim@example.com', 'x')`,
      );
      const before = await emails();
      await expect(migration.up(runner)).rejects.toThrow(
        /same normal form.*"bob@example.com" <- #\d+ "bob@example.com", #\d+ "ｂｏｂ@example.com"/,
      );
      expect(await emails()).toStrictEqual(before);

      await db.ds.query(`UPDATE users SET email = 'bob2@example.com' WHERE email = 'ｂｏｂ@example.com'`);
      await migration.up(runner);
      expect(await emails()).toStrictEqual([
        'carol@example.com',
        'bob@example.com',
        'bob2@example.com',
        'vi\u0307ctim@example.com',
      ]);
      // The unique index is now on the stored normal form.
      await expect(
        db.ds.query(`INSERT INTO users (email, password_hash) VALUES ('carol@example.com', 'x')`),
      ).rejects.toThrow(/users_email_key/);
    } finally {
      await runner.release();
    }
  });
});
