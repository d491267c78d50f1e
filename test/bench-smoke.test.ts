import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { freshDatabase } from './support/app.js';

/**
 * `npm run bench -- --smoke` end to end, so the benchmark cannot silently rot:
 * the built app (production mode, probe preloaded) and both baselines, each in
 * its own process, 100 then 200 streams from the separate load process, every
 * scenario. Asserts that it completes, that every stream got every event, and
 * that it leaves no process or directory behind — never how fast anything was.
 */
const root = new URL('..', import.meta.url).pathname;
let db: Awaited<ReturnType<typeof freshDatabase>>;
let out: string;
let report: any;
let exitCode: number | null;
let output = '';

beforeAll(async () => {
  db = await freshDatabase();
  out = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
  const child = spawn(
    process.execPath,
    [join(root, 'dist/bench/run.js'), '--smoke', '--database-url', db.url, '--out', out],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  exitCode = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  if (exitCode === 0) report = JSON.parse(readFileSync(join(out, 'results-smoke.json'), 'utf8'));
});

afterAll(async () => {
  rmSync(out, { recursive: true, force: true });
  await db.drop();
});

function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

describe('npm run bench -- --smoke', () => {
  it('completes and writes results, table and chart', () => {
    expect(exitCode).toBe(0); // output.slice(-3000)
    expect(report.mode).toBe('smoke');
    expect(output).toMatch(/\| metric \| unit \| app \| bare node:http \| naive Express \| app ÷ bare \|/);
    expect(readFileSync(join(out, 'fanout-smoke.svg'), 'utf8')).toMatch(/^<svg [^>]*>[\s\S]*<\/svg>\n$/);
    expect(report.summary.length > 10).toBeTruthy();
  });

  for (const kind of ['app', 'bare', 'naive']) {
    it(`${kind}: every stream opened and got every broadcast, targeted and replayed event`, () => {
      expect(exitCode).toBe(0); // output.slice(-3000)
      const s = report.servers[kind];
      expect(s.idle.map((x: any) => [x.streams, x.failed])).toStrictEqual([
        [100, 0],
        [200, 0],
      ]);
      for (const f of s.fanout) {
        expect(f.missing).toBe(0); // `${kind} fan-out to ${f.streams}`
        for (const r of f.rounds) expect(r.n).toBe(f.streams);
      }
      const first = s.targeted.steps[0];
      expect(first.failed).toBe(0);
      expect(first.committed).toBe(first.offered);
      expect(first.delivered).toBe(first.offered); // `${kind} targeted: delivered`
      for (const r of s.replay.runs) expect(r.received).toBe(r.expected); // `${kind} replay`
    });
  }

  it('the app ran in production mode with sessions it accepted, and measured the id-ordering alternatives', () => {
    expect(exitCode).toBe(0); // output.slice(-3000)
    const app = report.servers.app;
    expect(app.idOrdering.txPerNotificationWithLock > 0).toBeTruthy();
    expect(app.idOrdering.txPerNotificationNoLock > 0).toBeTruthy();
    expect(app.orders).toBeTruthy(); // the orders scenario ran or said why not
  });

  it('leaves no process and no directory behind', () => {
    expect(exitCode).toBe(0); // output.slice(-3000)
    for (const kind of ['app', 'bare', 'naive']) expect(gone(report.servers[kind].pid)).toBeTruthy(); // `${kind} process still running`
    expect(gone(report.cleanup.loadPid)).toBeTruthy(); // load process still running
    expect(existsSync(report.cleanup.tmpDir)).toBe(false);
  });
});
