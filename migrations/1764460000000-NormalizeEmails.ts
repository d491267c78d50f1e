import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 13: every stored email in its one normal form (NFKC, then JavaScript's lower
 * case: src/users/email.ts), compared with `=` under a plain unique index instead of
 * PostgreSQL's lower(), which folds some letters (`İ`) differently from JavaScript.
 *
 * On a collision (two accounts whose emails have the same normal form, which the old
 * lower() index let through) the migration refuses, lists them and changes nothing: which
 * account is the real one is a decision for a person, not for a migration. Rename or
 * disable-and-rename one of them (`UPDATE users SET email = … WHERE id = …`), then rerun.
 */
// A copy of normalizeEmail as it was when this migration was written: a migration must
// keep doing what it did even if the application's function changes later.
const normalize = (email: string): string => email.normalize('NFKC').toLowerCase();

export class NormalizeEmails1764460000000 implements MigrationInterface {
  name = 'NormalizeEmails1764460000000';

  async up(q: QueryRunner): Promise<void> {
    const rows: Array<{ id: string; email: string }> = await q.query(
      `SELECT id::text, email FROM users ORDER BY id FOR UPDATE`,
    );
    const byNormal = new Map<string, Array<{ id: string; email: string }>>();
    for (const row of rows) {
      const key = normalize(row.email);
      byNormal.set(key, [...(byNormal.get(key) ?? []), row]);
    }
    const collisions = [...byNormal].filter(([, group]) => group.length > 1);
    if (collisions.length > 0) {
      const list = collisions
        .map(
          ([normal, group]) =>
            `${JSON.stringify(normal)} <- ${group.map((r) => `#${r.id} ${JSON.stringify(r.email)}`).join(', ')}`,
        )
        .join('; ');
      throw new Error(
        `NormalizeEmails: these accounts have emails with the same normal form (NFKC + lower case); ` +
          `rename one of each group, then run the migrations again: ${list}`,
      );
    }
    await q.query(`DROP INDEX users_email_lower_key`);
    for (const row of rows) {
      const normal = normalize(row.email);
      if (normal !== row.email) await q.query(`UPDATE users SET email = $2 WHERE id = $1`, [row.id, normal]);
    }
    await q.query(`CREATE UNIQUE INDEX users_email_key ON users (email)`);
    // Throttle keys were JavaScript-lower-cased emails; they live 15 minutes and are
    // rewritten in the new form from now on.
    await q.query(`DELETE FROM login_failures WHERE key LIKE 'email:%'`);
  }

  async down(q: QueryRunner): Promise<void> {
    // The original spellings are not kept: emails stay in their normal form.
    await q.query(`DROP INDEX users_email_key`);
    await q.query(`CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email))`);
  }
}
