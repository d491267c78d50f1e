import type { DataSourceOptions } from 'typeorm';
import { UserEntity } from '../users/user.entity.js';

/**
 * The one description of the database, shared by the app (TypeOrmModule) and
 * the migration CLI (cli-data-source.ts): no second copy to drift.
 */
export function dataSourceOptions(url: string, poolSize = 20): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: [UserEntity],
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
