import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freshDatabase } from './support/app.js';
import { ADMIN_PASSWORD, Instance } from './support/cluster.js';

/**
 * Issue 20: the README's curl walkthrough, run verbatim (only the admin password it says to
 * paste is filled in) against a running service, with its second terminal's stream, by bash
 * with a usual umask of 022. Every cookie jar it writes must be readable by its owner only: a
 * jar holds a signed-in session.
 */
const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const walkthrough = README.slice(README.indexOf('## Walkthrough with curl'));
const section = walkthrough.slice(0, walkthrough.indexOf('\n## ', 3));
const blocks = [...section.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]);
/** The commands the prose quotes after the blocks (`curl -s -b … /orders/$ORDER`, the unread count). */
const quoted = [...section.slice(section.lastIndexOf('```')).matchAll(/`(curl [^`]+)`/g)].map((m) => m[1]);

let database: Awaited<ReturnType<typeof freshDatabase>>;
let instance: Instance;
const home = mkdtempSync(join(tmpdir(), 'notif-readme-'));
beforeAll(async () => {
  database = await freshDatabase();
  instance = await Instance.start({ databaseUrl: database.url, env: { ADMIN_EMAIL: 'admin@localhost' } });
});
afterAll(async () => {
  await instance?.stop();
  await database?.drop();
  rmSync(home, { recursive: true, force: true });
});

/** `curl` on PATH that notes each cookie jar it is given (`-c FILE`), then runs the real one. */
function recordingCurl(log: string): string {
  const bin = join(home, 'bin');
  mkdirSync(bin, { recursive: true });
  const script = `#!/bin/bash
prev=""
for a in "$@"; do [ "$prev" = "-c" ] && printf '%s\\n' "$a" >> ${JSON.stringify(log)}; prev="$a"; done
exec /usr/bin/curl "$@"
`;
  writeFileSync(join(bin, 'curl'), script);
  chmodSync(join(bin, 'curl'), 0o755);
  return bin;
}

function bash(script: string, env: Record<string, string>): ChildProcess & { output: () => string } {
  const child = spawn('bash', ['-c', `umask 022\n${script}`], { env, cwd: home, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  return Object.assign(child, { output: () => output });
}

async function outputMatches(child: ReturnType<typeof bash>, pattern: RegExp, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!pattern.test(child.output())) {
    if (child.exitCode !== null) throw new Error(`${what}: exited ${child.exitCode}:\n${child.output()}`);
    if (Date.now() > deadline) throw new Error(`${what}: no ${pattern} in:\n${child.output()}`);
    await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  }
}

describe('the README walkthrough', () => {
  it('runs verbatim: the stream shows each step, and every cookie jar is private', async () => {
    expect(blocks).toHaveLength(3);
    expect(quoted).toHaveLength(2);
    const [setup, stream, steps] = blocks;
    const jars = join(home, 'jars.log');
    const env = {
      PATH: `${recordingCurl(jars)}:${process.env.PATH}`,
      HOME: home,
      PORT: String(instance.port),
    };
    // Terminal 1 runs the first block, waits for terminal 2's stream, then runs the rest.
    const first = bash(
      `set -e\n${setup}\necho SETUP-DONE\nread -r _\n${steps.replace('the-printed-admin-password', ADMIN_PASSWORD)}\n` +
        quoted.map((c) => `echo "QUOTED: $(${c})"`).join('\n'),
      env,
    );
    await outputMatches(first, /SETUP-DONE/, 'the first block');
    const second = bash(stream, env);
    try {
      await outputMatches(second, /event: ready/, 'the stream');
      first.stdin!.end('\n');
      const code = await new Promise((resolve) => first.once('exit', resolve));
      expect({ code, output: first.output() }).toMatchObject({ code: 0 });
      await outputMatches(second, /"type":"system\.broadcast"/, 'the stream');
    } finally {
      second.kill();
      first.kill();
    }

    const types = [...second.output().matchAll(/"type":"([a-z.]+)"/g)].map((m) => m[1]);
    expect(types).toStrictEqual([
      'order.placed',
      'payment.pending',
      'payment.succeeded',
      'order.paid',
      'order.shipped',
      'order.message',
      'system.broadcast',
    ]);
    const out = first.output();
    expect(out).toMatch(/"statusCode":409/);
    expect(out).toMatch(/"statusCode":400,"message":"body is required"/);
    expect(out).toMatch(/QUOTED: .*"status":"shipped"/);
    expect(out).toMatch(/QUOTED: \{"total":7,/);
    expect(out).toMatch(/^\{"ids":\["6"\],"skipped":\[\]\}$/m);

    const written = [...new Set(readFileSync(jars, 'utf8').trim().split('\n'))];
    expect(written.length).toBeGreaterThanOrEqual(2);
    const exposed = written.filter(
      (jar) => (statSync(jar).mode & 0o077) !== 0 && (statSync(dirname(jar)).mode & 0o077) !== 0,
    );
    expect(exposed).toStrictEqual([]);
  });
});
