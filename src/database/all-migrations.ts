import { MIGRATIONS } from '../../migrations/index.js';
import { METHOD_PLUGINS } from '../delivery/methods/index.js';

/**
 * What `runMigrations` and the TypeORM CLI run: the core's and the sources' list, and each
 * delivery method's own (listed with its plug-in, so adding a method leaves migrations/index.ts
 * alone). TypeORM orders them by timestamp. The app's own DataSource never runs migrations.
 */
export const ALL_MIGRATIONS = [...MIGRATIONS, ...Object.values(METHOD_PLUGINS).flatMap((m) => m.migrations)];
