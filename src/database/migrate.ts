import { DataSource } from 'typeorm';
import { ALL_MIGRATIONS } from './all-migrations.js';
import { dataSourceOptions } from './data-source-options.js';

const MIGRATION_LOCK = 0x6d696772; // "migr"

/**
 * Runs pending migrations, each in its own transaction. Instances starting
 * together take turns on an advisory lock (pool of one connection, so the lock
 * and the migrations share a session) instead of racing on DDL.
 */
export async function runMigrations(url: string): Promise<string[]> {
  const ds = new DataSource({ ...dataSourceOptions(url, 1), entities: [], migrations: ALL_MIGRATIONS });
  await ds.initialize();
  try {
    await ds.query(`SELECT pg_advisory_lock($1)`, [MIGRATION_LOCK]);
    const ran = await ds.runMigrations({ transaction: 'each' });
    await ds.query(`SELECT pg_advisory_unlock($1)`, [MIGRATION_LOCK]);
    return ran.map((m) => m.name);
  } finally {
    await ds.destroy();
  }
}

/**
 * Undoes the newest applied migration (in its own transaction), as TypeORM's
 * `migration:revert` does, under the same lock as runMigrations. Answers its
 * name, or null when none is applied.
 */
export async function revertLastMigration(url: string): Promise<string | null> {
  const ds = new DataSource({ ...dataSourceOptions(url, 1), entities: [], migrations: ALL_MIGRATIONS });
  await ds.initialize();
  try {
    await ds.query(`SELECT pg_advisory_lock($1)`, [MIGRATION_LOCK]);
    const [last]: Array<{ name: string }> = await ds.query(`SELECT name FROM migrations ORDER BY id DESC LIMIT 1`);
    if (last) await ds.undoLastMigration({ transaction: 'each' });
    await ds.query(`SELECT pg_advisory_unlock($1)`, [MIGRATION_LOCK]);
    return last?.name ?? null;
  } finally {
    await ds.destroy();
  }
}
