import { DataSource } from 'typeorm';
import { dataSourceOptions } from './data-source-options.js';

const MIGRATION_LOCK = 0x6d696772; // "migr"

/**
 * Runs pending migrations, each in its own transaction. Instances starting
 * together take turns on an advisory lock (pool of one connection, so the lock
 * and the migrations share a session) instead of racing on DDL.
 */
export async function runMigrations(url: string): Promise<string[]> {
  const ds = new DataSource({ ...dataSourceOptions(url, 1), entities: [] });
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

export async function revertAllMigrations(url: string): Promise<number> {
  const ds = new DataSource({ ...dataSourceOptions(url, 1), entities: [] });
  await ds.initialize();
  let n = 0;
  try {
    while ((await ds.query(`SELECT count(*)::int AS c FROM migrations`))[0].c > 0) {
      await ds.undoLastMigration({ transaction: 'each' });
      n++;
    }
    return n;
  } finally {
    await ds.destroy();
  }
}
