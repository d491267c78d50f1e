/**
 * `npm run migration:run` (and `migration:revert`, which undoes the newest
 * migration only, as TypeORM's command does): against DATABASE_URL, or
 * the embedded server in DATA_DIR when it is unset, like `npm start` (the one a
 * running `npm start` holds, if any, else one started for the run).
 */
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../config/env.js';
import { startEmbeddedPostgres } from '../database/embedded-postgres.js';
import { embeddedAppDatabase } from '../database/app-role.js';
import { revertLastMigration, runMigrations } from '../database/migrate.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const embedded = config.databaseUrl
    ? undefined
    : await startEmbeddedPostgres({ databaseDir: join(config.dataDir, 'postgres') });
  try {
    const url = config.databaseUrl ?? (await embeddedAppDatabase(embedded!, config.dataDir));
    if (process.argv.includes('--revert')) {
      const reverted = await revertLastMigration(url);
      console.log(reverted ? `Reverted ${reverted}` : 'No migration to revert');
    } else {
      const ran = await runMigrations(url);
      console.log(ran.length ? `Ran ${ran.join(', ')}` : 'No pending migrations');
    }
  } finally {
    await embedded?.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? `Configuration error: ${err.message}` : err);
  process.exit(1);
});
