import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApp, type TestApp } from './support/app.js';
import { cliPath, runCli, type CliRun } from './support/cli.js';
import { Client } from './support/http.js';
import { openStream } from './support/sse.js';

/**
 * `npm run admin:password`: the built command (`node dist/src/cli/admin-password.js`)
 * against the test app's database, the password on stdin, then sign-in over HTTP.
 */

const CLI = cliPath('admin-password');
const TIMEOUT = 30_000;

let t: TestApp;
let dataDir: string;

beforeAll(async () => {
  t = await startTestApp();
  dataDir = mkdtempSync(join(tmpdir(), 'admin-password-'));
  chmodSync(dataDir, 0o755);
}, 60_000);

afterAll(async () => {
  await t?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** Runs the command with `stdin` piped in (so it reads a line, no prompt), on the test app's database. */
function admin(args: string[], stdin: string): Promise<CliRun> {
  // Only what it needs: no REDIS_URL from the surroundings (the test app uses the Postgres bus).
  return runCli(CLI, args, {
    cwd: dataDir,
    env: { NODE_ENV: 'test', DATA_DIR: dataDir, DATABASE_URL: t.databaseUrl },
    stdin,
  });
}

async function loginStatus(email: string, password: string): Promise<number> {
  return (await new Client(t.baseUrl).login(email, password)).status;
}

describe('npm run admin:password', () => {
  it(
    'sets the password: the new one signs in, the old one is refused, and the user is signed out everywhere',
    async () => {
      const dora = new Client(t.baseUrl);
      await dora.signUp('dora@example.com', 'old-password-1');
      expect((await dora.get('/auth/me')).status).toBe(200);
      const stream = await openStream(t.baseUrl, dora.cookieHeader);
      await stream.waitForEvent('ready');

      // Looked up as sign-in does: case-insensitively.
      const run = await admin(['Dora@Example.com'], 'new-password-1\n');
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^Password set for dora@example\.com \(user \d+, user\); 1 session ended\.$/m);

      // Her session is gone and her open stream ends (a revoke-user message on the bus).
      await stream.waitForEnd(10_000);
      expect((await dora.get('/auth/me')).status).toBe(401);

      expect(await loginStatus('dora@example.com', 'new-password-1')).toBe(200);
      expect(await loginStatus('dora@example.com', 'old-password-1')).toBe(401);
    },
    TIMEOUT,
  );

  it(
    'sets the bootstrap admin’s password',
    async () => {
      const run = await admin([t.adminEmail], 'admin-password-2\n');
      expect(run.code).toBe(0);
      expect(await loginStatus(t.adminEmail, 'admin-password-2')).toBe(200);
      expect(await loginStatus(t.adminEmail, t.adminPassword)).toBe(401);
    },
    TIMEOUT,
  );

  it(
    'an unknown email: exit 1 with a clear message, nothing changed',
    async () => {
      const run = await admin(['nobody@example.com'], 'whatever-123\n');
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/No user with the email nobody@example\.com; nothing changed/);
      expect(run.stdout).toBe('');
    },
    TIMEOUT,
  );

  it(
    'a password shorter than sign-up allows, or none at all: exit 1, the old one still works',
    async () => {
      const erin = new Client(t.baseUrl);
      await erin.signUp('erin@example.com', 'erin-password-1');

      const short = await admin(['erin@example.com'], 'short\n');
      expect(short.code).toBe(1);
      expect(short.stderr).toMatch(/at least 8 characters/);

      const none = await admin(['erin@example.com'], '');
      expect(none.code).toBe(1);
      expect(none.stderr).toMatch(/No password on stdin/);

      expect(await loginStatus('erin@example.com', 'erin-password-1')).toBe(200);
    },
    TIMEOUT,
  );

  it(
    '--role admin also makes the user an admin; --password-stdin takes the first line only',
    async () => {
      const finn = new Client(t.baseUrl);
      await finn.signUp('finn@example.com', 'finn-password-1');

      const run = await admin(
        ['finn@example.com', '--role', 'admin', '--password-stdin'],
        'finn-password-2\r\nignored\n',
      );
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/role user → admin/);

      const again = new Client(t.baseUrl);
      const login = await again.login('finn@example.com', 'finn-password-2');
      expect(login.status).toBe(200);
      expect(login.body.user.role).toBe('admin');
      expect((await again.get('/admin/stats')).status).toBe(200);
    },
    TIMEOUT,
  );

  it(
    'usage errors exit 2 and say how to call it',
    async () => {
      for (const args of [[], ['a@example.com', 'b@example.com'], ['a@example.com', '--role', 'root']]) {
        const run = await admin(args, 'whatever-123\n');
        expect(run.code).toBe(2);
        expect(run.stderr).toMatch(/Usage: npm run admin:password -- <email>/);
      }
    },
    TIMEOUT,
  );
});
