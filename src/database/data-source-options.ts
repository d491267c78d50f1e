import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DataSourceOptions } from 'typeorm';

const here = dirname(fileURLToPath(import.meta.url));
/** Compiled migrations: dist/migrations, next to dist/src. */
export const MIGRATIONS_GLOB = join(here, '..', '..', 'migrations', '*.js');

/** Every `*.entity.js` under dist/src: each module owns its entities' files. */
export const ENTITIES_GLOB = join(here, '..', '**', '*.entity.js');

/**
 * The one description of the database, shared by the app (TypeOrmModule) and
 * the migration CLI (cli-data-source.ts): no second copy to drift.
 */
export function dataSourceOptions(url: string, poolSize = 20): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: [ENTITIES_GLOB],
    migrations: [MIGRATIONS_GLOB],
    migrationsTableName: 'migrations',
    synchronize: false,
    migrationsRun: false,
    logging: false,
    extra: {
      max: poolSize,
      // A request waits at most this long for a pooled connection; past it the
      // database is treated as unavailable (503) rather than hanging the request.
      connectionTimeoutMillis: 5000,
      application_name: 'notifications',
    },
  };
}
