// Jest global setup: build what child processes run (the server, the test publisher, the
// benchmark, the browser client; `tsc -b` is incremental and also type-checks everything),
// start one PostgreSQL for the run (embedded unless TEST_DATABASE_URL names a server where
// databases may be created) and migrate a template once. Test files clone the template
// (test/support/app.ts); the environment variables set here reach every worker.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
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
  const { provisionAppDatabase } = await import(join(root, 'dist/src/database/app-role.js'));

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
  pushServiceCertificate();

  const template = `nt_template_${process.pid}`;
  // On the embedded server the tests run as the service does there: as its own role, which owns
  // what the migrations make (issue 19). A TEST_DATABASE_URL server gets no role of ours.
  if (globalThis.__embeddedPostgres) {
    process.env.TEST_PG_APP_PASSWORD = randomBytes(18).toString('base64url');
    await runMigrations(await provisionAppDatabase(adminUrl, template, process.env.TEST_PG_APP_PASSWORD));
  } else {
    await runMigrations(await ensureDatabase(adminUrl, template));
  }
  process.env.NODE_ENV = 'test';
  process.env.TEST_PG_ADMIN_URL = adminUrl;
  process.env.TEST_PG_TEMPLATE = template;
}

/**
 * The tests' own Web Push service speaks HTTPS (web-push sends nothing else): a CA and a
 * certificate for 127.0.0.1 made here with openssl, the CA trusted through
 * NODE_EXTRA_CA_CERTS, which Jest's workers and the instances they spawn read at start.
 */
function pushServiceCertificate() {
  const dir = mkdtempSync(join(tmpdir(), 'notif-test-tls-'));
  const run = (...args) => {
    const r = spawnSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
  };
  run(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=notifications test CA',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
  );
  run(
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-subj',
    '/CN=127.0.0.1',
    '-keyout',
    'push.key',
    '-out',
    'push.csr',
  );
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  run(
    'x509',
    '-req',
    '-in',
    'push.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    'ext.cnf',
    '-out',
    'push.pem',
  );
  process.env.NODE_EXTRA_CA_CERTS = join(dir, 'ca.pem');
  process.env.TEST_PUSH_TLS_DIR = dir;
}
