import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freshDatabase } from './support/app.js';

/**
 * `npm run migration:revert` and `migration:run`: the built command
 * (`node dist/src/cli/migrate.js`) against a migrated database of its own.
 * A revert undoes the newest migration only, as TypeORM's own command does;
 * it once undid every migration, dropping all data.
 */
const CLI = join(process.cwd(), 'dist/src/cli/migrate.js');

let database: { url: string; drop: () => Promise<void> };
let db: pg.Pool;
let dataDir: string;
beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build first (npm run build)`);
  database = await freshDatabase();
  db = new pg.Pool({ connectionString: database.url, max: 1 });
  dataDir = mkdtempSync(join(tmpdir(), 'migrate-cli-'));
});
afterAll(async () => {
  await db?.end();
  await database?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

function migrate(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', DATA_DIR: dataDir, DATABASE_URL: database.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

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
