import pg from 'pg';
import { ConfigError } from '../config/env.js';

/**
 * Connects once to DATABASE_URL before anything else, so that a server that cannot be reached
 * is one line naming the variable and the host (never the password), not a driver's stack.
 */
export async function checkDatabaseUrl(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    const { hostname, port } = new URL(url);
    const reason = CONNECT_ERRORS[(err as { code?: string }).code ?? ''] ?? (err as Error).message;
    throw new ConfigError(`DATABASE_URL: cannot connect to ${hostname || 'localhost'}:${port || 5432}: ${reason}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

const CONNECT_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused (is PostgreSQL running there?)',
  ENOTFOUND: 'unknown host',
  EAI_AGAIN: 'the host name could not be resolved now',
  ETIMEDOUT: 'no answer',
  EHOSTUNREACH: 'host unreachable',
};

/** Creates database `name` on the server of `adminUrl` if absent; returns its URL. */
export async function ensureDatabase(adminUrl: string, name: string, template?: string): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) {
      await client
        .query(`CREATE DATABASE "${name.replace(/"/g, '')}"${template ? ` TEMPLATE "${template}"` : ''}`)
        .catch((err: { code?: string }) => {
          // Another instance starting at the same moment created it (duplicate_database, or the catalog's unique index).
          if (err.code !== '42P04' && err.code !== '23505') throw err;
        });
    }
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
