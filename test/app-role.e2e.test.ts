import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/database/embedded-postgres.js';
import { ensureDatabase } from '../src/database/ensure-database.js';
import { runMigrations } from '../src/database/migrate.js';
import { Instance } from './support/cluster.js';
import { Client } from './support/http.js';
import { tempDirs } from './support/temp-dirs.js';

/**
 * Issue 19, item 6: on the embedded PostgreSQL the service connects as a role of its own that
 * owns its schemas and nothing else, not as the superuser; data directories from before it are
 * handed over to it on their first start.
 */
const tempDir = tempDirs('notif-role-');

const secret = (dataDir: string, file: string) => encodeURIComponent(readFileSync(join(dataDir, file), 'utf8').trim());

async function withClient<T>(url: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** The SQLSTATE a statement fails with, or 'ok'. */
const attempt = (c: pg.Client, sql: string) =>
  c.query(sql).then(
    () => 'ok',
    (err: { code?: string }) => err.code ?? String(err),
  );

/** `npm start` on `dataDir`: what the service connects as, and what that role can do and owns. */
async function checkRunningService(instance: Instance, dataDir: string): Promise<void> {
  await instance.waitForOutput(/Database: embedded PostgreSQL on 127\.0\.0\.1:\d+/);
  const port = /Database: embedded PostgreSQL on 127\.0\.0\.1:(\d+)/.exec(instance.output)![1];
  const superuser = `postgres://postgres:${secret(dataDir, 'postgres.password')}@127.0.0.1:${port}/notifications`;
  const app = `postgres://notifications:${secret(dataDir, 'postgres-app.password')}@127.0.0.1:${port}/notifications`;

  // Every connection of the service (its pool, the bus, the job queue) is the role's.
  const sessions = await withClient(superuser, async (c) => {
    const { rows } = await c.query<{ application_name: string; usename: string; rolsuper: boolean }>(
      `SELECT DISTINCT a.application_name, a.usename, r.rolsuper
         FROM pg_stat_activity a JOIN pg_roles r ON r.rolname = a.usename
        WHERE a.datname = 'notifications' AND a.application_name LIKE 'notifications%'
        ORDER BY 1`,
    );
    return rows;
  });
  expect(sessions.map((s) => s.application_name)).toEqual(
    expect.arrayContaining(['notifications', 'notifications-bus', 'notifications-jobs']),
  );
  expect(new Set(sessions.map((s) => `${s.usename} ${s.rolsuper}`))).toStrictEqual(new Set(['notifications false']));

  // What the role cannot do.
  await withClient(app, async (c) => {
    expect(
      (await c.query(`SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user`)).rows,
    ).toStrictEqual([{ rolsuper: false, rolcreaterole: false, rolcreatedb: false }]);
    expect(await attempt(c, `CREATE ROLE intruder LOGIN SUPERUSER`)).toBe('42501');
    expect(await attempt(c, `SELECT rolpassword FROM pg_authid`)).toBe('42501');
    expect(await attempt(c, `CREATE DATABASE elsewhere`)).toBe('42501');
    expect(await attempt(c, `COPY (SELECT 1) TO PROGRAM 'true'`)).toBe('42501');
    expect(await attempt(c, `SELECT pg_read_file('postgresql.conf')`)).toBe('42501');
    expect(await attempt(c, `ALTER SYSTEM SET log_statement = 'all'`)).toBe('42501');
  });

  // What it owns: every table, sequence, routine and type of its schemas, and the schemas.
  const foreign = await withClient(superuser, async (c) => {
    const { rows } = await c.query<{ what: string }>(
      `SELECT 'schema ' || nspname AS what FROM pg_namespace
        WHERE nspname IN ('public', 'pgboss') AND nspowner::regrole::text <> 'notifications'
       UNION ALL
       SELECT 'relation ' || c.oid::regclass FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname IN ('public', 'pgboss') AND c.relowner::regrole::text <> 'notifications'
       UNION ALL
       SELECT 'routine ' || p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname IN ('public', 'pgboss') AND p.proowner::regrole::text <> 'notifications'
       UNION ALL
       SELECT 'type ' || t.oid::regtype FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname IN ('public', 'pgboss') AND t.typowner::regrole::text <> 'notifications'`,
    );
    return rows.map((r) => r.what);
  });
  expect(foreign).toStrictEqual([]);
}

describe('the service on the embedded PostgreSQL', () => {
  it('connects as its own role, which is no superuser, cannot create roles or read pg_authid, and owns its schemas', async () => {
    const dataDir = tempDir();
    const instance = await Instance.start({ databaseUrl: undefined, dataDir });
    try {
      await checkRunningService(instance, dataDir);
    } finally {
      expect(await instance.stop()).toStrictEqual({ code: 0, signal: null });
    }
  });

  it('a DATA_DIR whose tables the superuser owns (before this role) keeps its data and is handed over once', async () => {
    const dataDir = tempDir();
    // As earlier versions made it: the service connected as the superuser and migrated as it.
    const server = await startEmbeddedPostgres({ databaseDir: join(dataDir, 'postgres') });
    const url = await ensureDatabase(server.url, 'notifications');
    await runMigrations(url);
    await withClient(url, (c) =>
      c.query(`INSERT INTO users (email, password_hash, role) VALUES ('old@example.com', 'x', 'user')`),
    );
    await server.stop();

    const instance = await Instance.start({ databaseUrl: undefined, dataDir });
    try {
      await checkRunningService(instance, dataDir);
      const user = await new Client(instance.baseUrl).signUp('new@example.com');
      const rows = await withClient(url.replace(/:\d+\//, `:${/127\.0\.0\.1:(\d+)/.exec(instance.output)![1]}/`), (c) =>
        c.query<{ email: string }>(`SELECT email FROM users WHERE email <> 'admin@localhost' ORDER BY id`),
      );
      expect(rows.rows.map((r) => r.email)).toStrictEqual(['old@example.com', user.email]);
    } finally {
      expect(await instance.stop()).toStrictEqual({ code: 0, signal: null });
    }
  });
});
