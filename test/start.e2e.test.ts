import { afterAll, describe, expect, it } from '@jest/globals';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './support/cli.js';
import { Instance, MAIN_JS } from './support/cluster.js';
import { Client } from './support/http.js';

/** Issue 20: what a newcomer meets when `npm start` cannot start. */
const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'notif-start-'));
  chmodSync(dir, 0o755); // the server runs as the "postgres" user when we are root
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

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
