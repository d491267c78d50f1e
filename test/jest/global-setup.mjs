// Jest global setup: build what child processes run (the server, the test publisher, the
// benchmark, the browser client; `tsc -b` is incremental and also type-checks everything),
// start one PostgreSQL for the run (embedded unless TEST_DATABASE_URL names a server where
// databases may be created) and migrate a template once. Test files clone the template
// (test/support/app.ts); the environment variables set here reach every worker.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;

export default async function globalSetup() {
  const tsc = spawnSync(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-b', join(root, 'tsconfig.json')],
    {
      stdio: 'inherit',
    },
  );
  if (tsc.status !== 0) throw new Error('TypeScript build failed: see the errors above');

  const { startEmbeddedPostgres } = await import(join(root, 'dist/src/database/embedded-postgres.js'));
  const { ensureDatabase } = await import(join(root, 'dist/src/database/ensure-database.js'));
  const { runMigrations } = await import(join(root, 'dist/src/database/migrate.js'));

  let adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) {
    const dir = mkdtempSync(join(tmpdir(), 'notif-test-pg-'));
    chmodSync(dir, 0o755); // the server runs as the "postgres" user when we are root
    const server = await startEmbeddedPostgres({
      databaseDir: join(dir, 'data'),
      ephemeral: true,
      settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
    });
    globalThis.__embeddedPostgres = server;
    adminUrl = server.url;
    console.log(`\n# test database: embedded PostgreSQL on port ${server.port}`);
  } else {
    console.log('\n# test database: TEST_DATABASE_URL');
  }
  const template = `nt_template_${process.pid}`;
  await runMigrations(await ensureDatabase(adminUrl, template));
  process.env.NODE_ENV = 'test';
  process.env.TEST_PG_ADMIN_URL = adminUrl;
  process.env.TEST_PG_TEMPLATE = template;
}
