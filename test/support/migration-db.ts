import { afterAll, beforeAll } from '@jest/globals';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../src/database/data-source-options.js';
import { freshDatabase } from './app.js';

/**
 * For a test file about one migration: a fresh database of its own (cloned
 * from the migrated template) and a bare TypeORM DataSource on it, opened
 * before the file's tests and dropped after them. Read `.ds` inside tests.
 */
export function migrationDatabase(): { readonly ds: DataSource } {
  let db: { url: string; drop: () => Promise<void> } | undefined;
  let ds: DataSource | undefined;
  beforeAll(async () => {
    db = await freshDatabase();
    ds = new DataSource({ ...dataSourceOptions(db.url, 2), entities: [] });
    await ds.initialize();
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });
  return {
    get ds(): DataSource {
      if (!ds) throw new Error('migrationDatabase: used outside a test');
      return ds;
    },
  };
}
