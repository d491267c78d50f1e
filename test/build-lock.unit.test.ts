import { afterAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Issue 20: two `npm start`s at once both build before serving; their builds take turns
 * (scripts/build-lock.mjs), so neither imports dist/ while the other writes it.
 */
const LOCK_MJS = fileURLToPath(new URL('../scripts/build-lock.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'notif-build-lock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A process that holds the lock for `ms`, writing when it enters and leaves. */
function builder(name: string, lock: string, log: string, ms: number): Promise<number | null> {
  const script = `
    import { appendFileSync } from 'node:fs';
    import { withBuildLock } from ${JSON.stringify(LOCK_MJS)};
    await withBuildLock(${JSON.stringify(lock)}, async () => {
      appendFileSync(${JSON.stringify(log)}, 'enter ${name}\\n');
      await new Promise((resolve) => setTimeout(resolve, ${ms}));
      appendFileSync(${JSON.stringify(log)}, 'leave ${name}\\n');
    });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'inherit' });
  return new Promise((resolve) => child.once('exit', resolve));
}

describe('the build lock of npm start', () => {
  it('two builds at once take turns', async () => {
    const lock = join(dir, 'turns', '.build-lock');
    const log = join(dir, 'turns.log');
    expect(await Promise.all([builder('A', lock, log, 400), builder('B', lock, log, 400)])).toStrictEqual([0, 0]);
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    const [first, second] = [lines[0].slice('enter '.length), lines[2]?.slice('enter '.length)];
    expect([first, second].sort()).toStrictEqual(['A', 'B']);
    expect(lines).toStrictEqual([`enter ${first}`, `leave ${first}`, `enter ${second}`, `leave ${second}`]);
  });

  it('a lock left by a build that was killed is taken over', async () => {
    const lock = join(dir, 'stale', '.build-lock');
    const log = join(dir, 'stale.log');
    const gone = spawn('true');
    await new Promise((resolve) => gone.once('exit', resolve));
    mkdirSync(lock, { recursive: true });
    writeFileSync(join(lock, 'pid'), String(gone.pid));
    expect(await builder('C', lock, log, 10)).toBe(0);
    expect(readFileSync(log, 'utf8')).toBe('enter C\nleave C\n');
  });
});
