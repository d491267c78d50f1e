// Writer throughput of the two ways to make notification ids visible in
// commit order (issue 3), measured with pgbench on a fresh embedded Postgres
// with durable commits (fsync on, synchronous_commit on), 8 concurrent writers:
//   lock    — every publishing transaction takes the advisory lock before its
//             insert and holds it through COMMIT (the shipped design);
//   outbox  — writers insert without any lock (the writer side of a relay
//             design; the relay's own batched moves come on top);
//   batch   — the lock design with group commit: 100 notifications per
//             transaction, as NotificationPublisher.send batches bursts.
// Run: npm run build && node bench/id-ordering.mjs
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const { startEmbeddedPostgres } = await import(join(root, 'dist/src/database/embedded-postgres.js'));
const { ensureDatabase } = await import(join(root, 'dist/src/database/ensure-database.js'));
const { runMigrations } = await import(join(root, 'dist/src/database/migrate.js'));

const dir = mkdtempSync(join(tmpdir(), 'id-order-'));
chmodSync(dir, 0o755);
const server = await startEmbeddedPostgres({ databaseDir: join(dir, 'data'), ephemeral: true });
const SECONDS = Number(process.env.SECONDS ?? 10);
try {
  const url = await ensureDatabase(server.url, 'bench');
  await runMigrations(url);
  const psql = (sql) => spawnSync('psql', [url, '-qAtc', sql], { encoding: 'utf8' });
  psql(`INSERT INTO users (email, password_hash) VALUES ('bench@example.com', 'x')`);
  const insert = `INSERT INTO notifications (user_id, channel, type, severity, title, body) VALUES (1, 'order', 'order.placed', 'info', 'Order placed', 'Thanks');`;
  const scripts = {
    lock: `BEGIN;\nSELECT pg_advisory_xact_lock(1852796009);\n${insert}\nSELECT pg_notify('notifications_bus', 'x');\nCOMMIT;\n`,
    outbox: `BEGIN;\n${insert}\nSELECT pg_notify('notifications_bus', 'x');\nCOMMIT;\n`,
    batch: `BEGIN;\nSELECT pg_advisory_xact_lock(1852796009);\nINSERT INTO notifications (user_id, channel, type, severity, title, body) SELECT 1, 'order', 'order.placed', 'info', 'Order placed', 'Thanks' FROM generate_series(1, 100);\nSELECT pg_notify('notifications_bus', 'x');\nCOMMIT;\n`,
  };
  const results = {};
  for (const [name, sql] of Object.entries(scripts)) {
    const file = join(dir, `${name}.sql`);
    writeFileSync(file, sql);
    const out = spawnSync('pgbench', ['-n', '-c', '8', '-j', '2', '-T', String(SECONDS), '-f', file, url], {
      encoding: 'utf8',
    });
    const tps = Number(/tps = ([\d.]+)/.exec(out.stdout)?.[1] ?? NaN);
    results[name] = {
      transactionsPerSecond: Math.round(tps),
      notificationsPerSecond: Math.round(tps * (name === 'batch' ? 100 : 1)),
    };
  }
  console.table(results);
  console.log(
    `lock / outbox writer throughput: ${(results.lock.transactionsPerSecond / results.outbox.transactionsPerSecond).toFixed(2)}×`,
  );
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
