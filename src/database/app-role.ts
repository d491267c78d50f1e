import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { generatedOnce } from '../common/generated-once.js';
import type { EmbeddedServer } from './embedded-postgres.js';
import { ensureDatabase } from './ensure-database.js';

/** The role the service connects to the embedded PostgreSQL as (issue 19): never the superuser. */
export const APP_ROLE = 'notifications';
/** The schemas the service owns: its tables, and pg-boss's. */
const SCHEMAS = ['public', 'pgboss'];
const PROVISION_LOCK = 0x726f6c65; // "role"

/**
 * The service's database on the embedded server, as the service's own role: `npm start` and the
 * command-line tools connect with the URL this answers, and run migrations with it, so what they
 * create is the role's. The role's password is generated once into DATA_DIR, beside the
 * superuser's.
 */
export async function embeddedAppDatabase(server: EmbeddedServer, dataDir: string): Promise<string> {
  const password = () => randomBytes(24).toString('base64url');
  return provisionAppDatabase(
    server.url,
    'notifications',
    generatedOnce(dataDir, 'postgres-app.password', password).trim(),
  );
}

/**
 * As the superuser: creates `database` (from `template` if given) and the login role APP_ROLE,
 * which gets no attribute beyond LOGIN (not a superuser, no CREATEROLE, CREATEDB, REPLICATION or
 * BYPASSRLS), CREATE on that database only (pg-boss makes its own schema), and ownership of the
 * service's schemas and everything in them. A database from before this role, whose objects the
 * superuser owns, is handed over here, once: later starts find nothing left to hand over. Answers
 * the role's URL of the database.
 */
export async function provisionAppDatabase(
  superuserUrl: string,
  database: string,
  password: string,
  template?: string,
): Promise<string> {
  const url = await ensureDatabase(superuserUrl, database, template);
  const appUrl = new URL(url);
  appUrl.username = APP_ROLE;
  appUrl.password = password;
  const client = new pg.Client({ connectionString: url, application_name: 'notifications-provision' });
  await client.connect();
  try {
    await ensureRole(client, password, appUrl.toString());
    await client.query('BEGIN');
    // Instances starting together on one database take turns.
    await client.query('SELECT pg_advisory_xact_lock($1)', [PROVISION_LOCK]);
    const role = client.escapeIdentifier(APP_ROLE);
    await client.query(`GRANT CONNECT, CREATE, TEMPORARY ON DATABASE ${client.escapeIdentifier(database)} TO ${role}`);
    const { rows } = await client.query<{ sql: string }>(HAND_OVER, [APP_ROLE, SCHEMAS]);
    for (const { sql } of rows) await client.query(sql);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await client.end();
  }
  return appUrl.toString();
}

/**
 * Creates the role, or gives it the password from DATA_DIR when that no longer signs in (the
 * file was deleted and generated again). A role is the whole server's, so starts on other
 * databases may create it at the same moment: the loser finds it made.
 */
async function ensureRole(client: pg.Client, password: string, appUrl: string): Promise<void> {
  const role = client.escapeIdentifier(APP_ROLE);
  const { rowCount } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [APP_ROLE]);
  if (!rowCount) {
    try {
      await client.query(
        `CREATE ROLE ${role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS ` +
          `PASSWORD ${client.escapeLiteral(password)}`,
      );
      return;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code !== '42710' && code !== '23505') throw err;
    }
  }
  const probe = new pg.Client({ connectionString: appUrl });
  const signsIn = await probe.connect().then(
    () => true,
    (err: { code?: string }) => {
      if (err.code === '28P01') return false;
      throw err;
    },
  );
  await probe.end().catch(() => undefined);
  if (!signsIn) await client.query(`ALTER ROLE ${role} PASSWORD ${client.escapeLiteral(password)}`);
}

/**
 * The statements that give $1 what it does not own yet in the schemas $2: the schemas, tables
 * (each partition too), views, sequences not owned by a column (those follow their table, as do
 * indexes), routines and types. Empty once everything is the role's.
 */
const HAND_OVER = `
  WITH target AS (SELECT oid FROM pg_roles WHERE rolname = $1)
  SELECT format('ALTER SCHEMA %I OWNER TO %I', n.nspname, $1) AS sql
    FROM pg_namespace n, target
   WHERE n.nspname = ANY ($2) AND n.nspowner <> target.oid
  UNION ALL
  SELECT format('ALTER %s %s OWNER TO %I',
                CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE'
                               WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'c' THEN 'TYPE' ELSE 'TABLE' END,
                c.oid::regclass, $1)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, target
   WHERE n.nspname = ANY ($2) AND c.relowner <> target.oid AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c')
     AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                                             AND d.objid = c.oid AND d.deptype IN ('a', 'i')))
  UNION ALL
  SELECT format('ALTER ROUTINE %s OWNER TO %I', p.oid::regprocedure, $1)
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace, target
   WHERE n.nspname = ANY ($2) AND p.proowner <> target.oid
  UNION ALL
  SELECT format('ALTER TYPE %s OWNER TO %I', t.oid::regtype, $1)
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace, target
   WHERE n.nspname = ANY ($2) AND t.typowner <> target.oid AND t.typtype IN ('e', 'd', 'r')`;
