import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { endPool, freshDatabase } from './support/app.js';
import { cliPath, runCli, type CliRun } from './support/cli.js';

/**
 * `npm run migration:revert` and `migration:run`: the built command
 * (`node dist/src/cli/migrate.js`) against a migrated database of its own.
 * A revert undoes the newest migration only, as TypeORM's own command does;
 * it once undid every migration, dropping all data.
 */
const CLI = cliPath('migrate');

let database: { url: string; drop: () => Promise<void> };
let db: pg.Pool;
let dataDir: string;
beforeAll(async () => {
  database = await freshDatabase();
  db = new pg.Pool({ connectionString: database.url, max: 1 });
  dataDir = mkdtempSync(join(tmpdir(), 'migrate-cli-'));
});
afterAll(async () => {
  if (db) await endPool(db);
  await database?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const migrate = (args: string[]): Promise<CliRun> =>
  runCli(CLI, args, { env: { NODE_ENV: 'test', DATA_DIR: dataDir, DATABASE_URL: database.url } });

const applied = async (): Promise<string[]> =>
  (await db.query(`SELECT name FROM migrations ORDER BY id`)).rows.map((r: { name: string }) => r.name);

describe('npm run migration:revert / migration:run', () => {
  it('revert undoes the newest migration only, and run applies it again', async () => {
    const all = await applied();
    expect(all.length).toBeGreaterThan(5);
    const newest = all[all.length - 1];

    const reverted = await migrate(['--revert']);
    expect(reverted).toMatchObject({ code: 0, stderr: '' });
    expect(reverted.stdout.trim()).toBe(`Reverted ${newest}`);
    expect(await applied()).toStrictEqual(all.slice(0, -1));
    // The data of every other migration is still there: the bootstrap schema's users table, say.
    expect((await db.query(`SELECT to_regclass('users') IS NOT NULL AS ok`)).rows[0].ok).toBe(true);

    const ran = await migrate([]);
    expect(ran).toMatchObject({ code: 0, stderr: '' });
    expect(ran.stdout.trim()).toBe(`Ran ${newest}`);
    expect(await applied()).toStrictEqual(all);
  });
});
