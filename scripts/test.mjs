// `npm test`: compile, start one PostgreSQL for the run (embedded unless
// TEST_DATABASE_URL is set), migrate a template database once, then run every
// dist/test/**/*.test.js with Node's test runner. Each test file clones the
// template into a database of its own (test/support/app.ts), so files never
// share rows and can run in parallel.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);

const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

const { startEmbeddedPostgres } = await import(join(root, 'dist/src/database/embedded-postgres.js'));
const { ensureDatabase } = await import(join(root, 'dist/src/database/ensure-database.js'));
const { runMigrations } = await import(join(root, 'dist/src/database/migrate.js'));

let server;
let adminUrl = process.env.TEST_DATABASE_URL;
if (!adminUrl) {
  const dir = mkdtempSync(join(tmpdir(), 'notif-test-pg-'));
  chmodSync(dir, 0o755); // the server runs as the "postgres" user when we are root
  server = await startEmbeddedPostgres({ databaseDir: join(dir, 'data'), ephemeral: true, settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' } });
  adminUrl = server.url;
  console.log(`# test database: embedded PostgreSQL on port ${server.port}`);
} else {
  console.log('# test database: TEST_DATABASE_URL');
}

const template = `nt_template_${process.pid}`;
const templateUrl = await ensureDatabase(adminUrl, template);
await runMigrations(templateUrl);

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? find(p) : p.endsWith('.test.js') ? [p] : [];
  });
}
let files = find(join(root, 'dist/test'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

// Browser tests (*.browser.test.js) drive Debian's chromium. They run when it
// is installed, and always in CI (CI=true), where a browser that cannot start
// fails them; elsewhere they are left out, and this says so.
const browserTests = files.filter((f) => f.endsWith('.browser.test.js'));
if (browserTests.length > 0 && !existsSync('/usr/bin/chromium') && process.env.CI !== 'true') {
  console.log(`# browser tests left out: /usr/bin/chromium is not installed (apt-get install chromium) and CI is not true: ${browserTests.map((f) => relative(root, f)).join(', ')}`);
  files = files.filter((f) => !browserTests.includes(f));
}

const env = { ...process.env, NODE_ENV: 'test', TEST_PG_ADMIN_URL: adminUrl, TEST_PG_TEMPLATE: template };
// (With no file arguments node --test would go looking for tests on its own.)
if (files.length === 0) console.log('# no test files to run');
const child = files.length === 0 ? null : spawn(
  process.execPath,
  ['--test', '--test-concurrency=2', '--test-timeout=300000', '--test-reporter=spec', ...files.map((f) => relative(root, f))],
  { stdio: 'inherit', env, cwd: root },
);
const code = child ? await new Promise((resolve) => child.on('exit', (c, s) => resolve(c ?? (s ? 1 : 0)))) : 0;

const pg = (await import('pg')).default;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`DROP DATABASE IF EXISTS "${template}" WITH (FORCE)`).catch(() => undefined);
await admin.end();
await server?.stop();
process.exit(code);
