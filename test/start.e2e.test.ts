import { describe, expect, it } from '@jest/globals';
import { createECDH } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { processAlive as alive } from '../src/database/embedded-postgres.js';
import { runCli } from './support/cli.js';
import { Instance, MAIN_JS } from './support/cluster.js';
import { Client } from './support/http.js';
import { tempDirs } from './support/temp-dirs.js';
import { until } from './support/until.js';

/** Issue 20: what a newcomer meets when `npm start` cannot start, or starts twice. */
const tempDir = tempDirs('notif-start-');

/** stderr without the JSON log lines: what a person reads. */
const said = (stderr: string) => stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'));

async function occupy(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, resolve));
  return { port: (server.address() as { port: number }).port, server };
}

describe('npm start on a port already in use', () => {
  it('says so in one line before starting PostgreSQL; the admin password is shown on the next start', async () => {
    const { port, server } = await occupy();
    const dataDir = tempDir();
    try {
      const run = await runCli(MAIN_JS, [], {
        env: { NODE_ENV: 'development', PORT: String(port), DATA_DIR: dataDir },
      });
      expect(run.code).toBe(1);
      expect(said(run.stderr)).toStrictEqual([
        `Configuration error: PORT ${port} is already in use: stop what listens there, or set PORT to another port`,
      ]);
      // Found first: no server was started, no migration ran, no admin was created.
      expect(existsSync(join(dataDir, 'postgres'))).toBe(false);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }

    // The same fresh DATA_DIR on a free port: the admin is created now, and its password shown.
    const instance = await Instance.start({ databaseUrl: undefined, dataDir });
    try {
      await instance.waitForOutput(/Admin login \(shown once\): admin@localhost \/ \S+/);
      const password = /Admin login \(shown once\): admin@localhost \/ (\S+)/.exec(instance.output)![1];
      expect((await new Client(instance.baseUrl).login('admin@localhost', password)).status).toBe(200);
    } finally {
      expect(await instance.stop()).toStrictEqual({ code: 0, signal: null });
    }
  });
});

describe('npm start with a DATABASE_URL it cannot reach', () => {
  it.each([
    ['refused', 'postgres://app:s3cret-pw@127.0.0.1:1/notifications', '127.0.0.1:1'],
    ['unknown host', 'postgres://app:s3cret-pw@db.invalid:5432/notifications', 'db.invalid:5432'],
  ])('%s: one line naming DATABASE_URL and the host, no password, no stack, exit 1', async (_, url, host) => {
    const run = await runCli(MAIN_JS, [], {
      env: { NODE_ENV: 'development', PORT: '0', DATA_DIR: tempDir(), DATABASE_URL: url },
    });
    expect(run.code).toBe(1);
    const lines = said(run.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^Configuration error: DATABASE_URL: cannot connect to ${host}: `));
    expect(run.stderr + run.stdout).not.toContain('s3cret-pw');
  });
});

describe('npm start with a DATA_DIR it cannot use', () => {
  const vapid = () => {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const privateKey = Buffer.from(ecdh.getPrivateKey().toString('hex').padStart(64, '0'), 'hex');
    return { VAPID_PUBLIC_KEY: ecdh.getPublicKey('base64url'), VAPID_PRIVATE_KEY: privateKey.toString('base64url') };
  };
  it.each([
    ['generating its secrets there', () => ({})],
    ['with its secrets given, for the embedded PostgreSQL', () => ({ SESSION_SECRET: 's'.repeat(32), ...vapid() })],
  ])('%s: one line naming DATA_DIR, no stack, exit 1', async (_, secrets) => {
    // A file where a directory must go: no directory can be made there, whoever runs the test.
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, '');
    const dataDir = join(file, 'data');
    const run = await runCli(MAIN_JS, [], {
      env: { NODE_ENV: 'development', PORT: '0', DATA_DIR: dataDir, ...secrets() },
    });
    expect(run.code).toBe(1);
    const lines = said(run.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^Configuration error: DATA_DIR ${dataDir} cannot be used: `));
  });
});

/** The pid in DATA_DIR/postgres/postmaster.pid: the running server's; undefined when none runs. */
function serverPid(dataDir: string): number | undefined {
  try {
    return Number(readFileSync(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return undefined;
  }
}

const DATABASE_LINE = /Database: embedded PostgreSQL on 127\.0\.0\.1:(\d+)(.*)/;
async function databaseLine(instance: Instance): Promise<{ port: string; shared: boolean }> {
  await instance.waitForOutput(DATABASE_LINE);
  const [, port, rest] = DATABASE_LINE.exec(instance.output)!;
  return { port, shared: /already running: shared/.test(rest) };
}

const health = async (instance: Instance) => (await fetch(`${instance.baseUrl}/health`)).status;

/** The server stopped: its postmaster.pid gone, its process exited. */
async function serverStopped(dataDir: string, pid: number): Promise<void> {
  expect(serverPid(dataDir)).toBeUndefined();
  await until(
    'the server process to exit',
    async () => alive(pid),
    (v) => !v,
    10_000,
  );
}

describe('two npm starts in one checkout (one DATA_DIR)', () => {
  it('share one PostgreSQL, started together or one after the other; Ctrl-C of one leaves it to the other; the last one out stops it', async () => {
    const dataDir = tempDir();
    const embedded = { databaseUrl: undefined, dataDir };
    // Two terminals, started at once on a fresh DATA_DIR: one starts the server, the other joins it.
    const started = await Promise.allSettled([
      Instance.start({ ...embedded, name: 'A', ownProcessGroup: true }),
      Instance.start({ ...embedded, name: 'B' }),
    ]);
    const [a, b] = started.map((s) => (s.status === 'fulfilled' ? s.value : undefined));
    let c: Instance | undefined;
    try {
      if (!a || !b) throw (started.find((s) => s.status === 'rejected') as PromiseRejectedResult).reason;
      const [onA, onB] = await Promise.all([databaseLine(a), databaseLine(b)]);
      expect(onA.port).toBe(onB.port);
      expect([onA.shared, onB.shared].sort()).toStrictEqual([false, true]);
      const server = serverPid(dataDir)!;
      await new Client(a.baseUrl).signUp('ada@example.com');
      expect((await new Client(b.baseUrl).login('ada@example.com')).status).toBe(200);

      // Ctrl-C in A's terminal reaches every process of its group, and A leaves the server to B.
      expect(await a.interrupt()).toStrictEqual({ code: 0, signal: null });
      expect(await health(b)).toBe(200);
      expect(serverPid(dataDir)).toBe(server);

      // A second start while B serves joins it; its stop leaves the server to B.
      c = await Instance.start({ ...embedded, name: 'C' });
      expect(await databaseLine(c)).toStrictEqual({ port: onA.port, shared: true });
      expect(await c.stop()).toStrictEqual({ code: 0, signal: null });
      expect(await health(b)).toBe(200);

      // The last one out stops it.
      expect(await b.stop()).toStrictEqual({ code: 0, signal: null });
      await serverStopped(dataDir, server);
    } finally {
      await Promise.all([a?.stop(), b?.stop(), c?.stop()]);
    }
  });

  it('a server left running by a killed instance is joined by the next start, which stops it when it leaves', async () => {
    const dataDir = tempDir();
    const a = await Instance.start({ databaseUrl: undefined, dataDir, name: 'A' });
    await databaseLine(a);
    await a.kill('SIGKILL');
    const left = serverPid(dataDir)!;
    expect(alive(left)).toBe(true);

    const b = await Instance.start({ databaseUrl: undefined, dataDir, name: 'B' });
    try {
      expect((await databaseLine(b)).shared).toBe(true);
      expect(serverPid(dataDir)).toBe(left);
      expect(await health(b)).toBe(200);
    } finally {
      expect(await b.stop()).toStrictEqual({ code: 0, signal: null });
    }
    await serverStopped(dataDir, left);
  });
});
