// `npm test`: compile every project (`tsc -b tsconfig.json`), start one
// PostgreSQL for the run (embedded unless TEST_DATABASE_URL is set), migrate a template database once, then run every
// dist/test/**/*.test.js with Node's test runner. Each test file clones the
// template into a database of its own (test/support/app.ts), so files never
// share rows and can run in parallel.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);

const tsc = spawnSync(
  process.execPath,
  [join(root, 'node_modules/typescript/bin/tsc'), '-b', join(root, 'tsconfig.json')],
  { stdio: 'inherit' },
);
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

const { startEmbeddedPostgres } = await import(join(root, 'dist/src/database/embedded-postgres.js'));
const { ensureDatabase } = await import(join(root, 'dist/src/database/ensure-database.js'));
const { runMigrations } = await import(join(root, 'dist/src/database/migrate.js'));

let server;
let adminUrl = process.env.TEST_DATABASE_URL;
if (!adminUrl) {
  const dir = mkdtempSync(join(tmpdir(), 'notif-test-pg-'));
  chmodSync(dir, 0o755); // the server runs as the "postgres" user when we are root
  server = await startEmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    ephemeral: true,
    settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
  });
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
// Extra suites, by file name, with what they need. On a developer machine a suite whose
// dependency is missing is left out with a note; under CI=true every suite runs, and one
// whose dependency is missing fails rather than skips.
const ci = !!process.env.CI && !['false', '0'].includes(process.env.CI);
const onPath = (bin) =>
  [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/local/sbin'].some((d) => d && existsSync(join(d, bin)));
const redisUrl = process.env.TEST_REDIS_URL || process.env.REDIS_URL;
const extras = [
  {
    suffix: '.redis.test.js',
    name: 'Redis bus',
    ok: !!redisUrl,
    where: redisUrl,
    hint: 'set TEST_REDIS_URL=redis://…',
  },
  { suffix: '.nginx.test.js', name: 'nginx proxy', ok: onPath('nginx'), where: 'nginx', hint: 'apt-get install nginx' },
  {
    suffix: '.browser.test.js',
    name: 'browser',
    ok: existsSync('/usr/bin/chromium'),
    where: '/usr/bin/chromium',
    hint: 'apt-get install chromium',
  },
];
const testDir = join(root, 'dist/test');
let files = find(testDir)
  .filter((f) => filters.length === 0 || filters.some((x) => relative(testDir, f).includes(x)))
  .sort();
// Files written for Jest (they import @jest/globals) are Jest's to run, not node:test's.
const jestOnly = files.filter((f) => readFileSync(f, 'utf8').includes('@jest/globals'));
if (jestOnly.length > 0) {
  console.log(`# Jest test files not run by node:test (${jestOnly.map((f) => relative(testDir, f)).join(', ')})`);
  files = files.filter((f) => !jestOnly.includes(f));
}
for (const extra of extras) {
  const suite = files.filter((f) => f.endsWith(extra.suffix));
  if (suite.length === 0) continue;
  const names = suite.map((f) => relative(testDir, f)).join(', ');
  if (extra.ok) console.log(`# ${extra.name} suites (${names}) against ${extra.where}`);
  else if (ci)
    console.log(
      `# ${extra.name} suites (${names}) run under CI without their dependency: they will fail (${extra.hint})`,
    );
  else {
    console.log(`# ${extra.name} suites not run (${names}): ${extra.hint}, or CI=true`);
    files = files.filter((f) => !suite.includes(f));
  }
}

const env = { ...process.env, NODE_ENV: 'test', TEST_PG_ADMIN_URL: adminUrl, TEST_PG_TEMPLATE: template };
let code = 0;
// (`node --test` with no file arguments would run every file it finds instead.)
if (files.length === 0) console.log('# no test files to run');
else {
  const child = spawn(
    process.execPath,
    [
      '--test',
      '--test-concurrency=2',
      '--test-timeout=300000',
      '--test-reporter=spec',
      ...files.map((f) => relative(root, f)),
    ],
    { stdio: 'inherit', env, cwd: root },
  );
  code = await new Promise((resolve) => child.on('exit', (c, s) => resolve(c ?? (s ? 1 : 0))));
}

const pg = (await import('pg')).default;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`DROP DATABASE IF EXISTS "${template}" WITH (FORCE)`).catch(() => undefined);
await admin.end();
await server?.stop();
process.exit(code);
