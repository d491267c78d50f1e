/**
 * This file exists only for the TypeORM CLI (`npm run migration:generate`),
 * which needs a module exporting a DataSource. The app builds its own from the
 * same `dataSourceOptions`. It needs DATABASE_URL: the CLI does not start an
 * embedded server (`npm run migration:run` does, see src/cli/migrate.ts).
 */
import { DataSource } from 'typeorm';
import { loadConfig } from '../config/env.js';
import { ALL_MIGRATIONS } from './all-migrations.js';
import { dataSourceOptions } from './data-source-options.js';

const config = loadConfig();
if (!config.databaseUrl) {
  throw new Error('DATABASE_URL must be set for the TypeORM CLI');
}
export default new DataSource({ ...dataSourceOptions(config.databaseUrl, 2), migrations: ALL_MIGRATIONS });
