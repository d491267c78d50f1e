import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freshDatabase } from './support/app.js';

/**
 * `npm run bench -- --smoke` end to end, so the benchmark cannot silently rot:
 * the built app (production mode, probe preloaded) and both baselines, each in
 * its own process, 100 then 200 streams from the separate load process, every
 * scenario. Asserts that it completes, that every stream got every event, and
 * that it leaves no process or directory behind — never how fast anything was.
 */
const root = new URL('../..', import.meta.url).pathname;
let db: Awaited<ReturnType<typeof freshDatabase>>;
let out: string;
let report: any;
let exitCode: number | null;
let output = '';

before(async () => {
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

after(async () => {
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
    assert.equal(exitCode, 0, output.slice(-3000));
    assert.equal(report.mode, 'smoke');
    assert.match(output, /\| metric \| unit \| app \| bare node:http \| naive Express \| app ÷ bare \|/);
    assert.match(readFileSync(join(out, 'fanout-smoke.svg'), 'utf8'), /^<svg [^>]*>[\s\S]*<\/svg>\n$/);
    assert.ok(report.summary.length > 10);
  });

  for (const kind of ['app', 'bare', 'naive']) {
    it(`${kind}: every stream opened and got every broadcast, targeted and replayed event`, () => {
      assert.equal(exitCode, 0, output.slice(-3000));
      const s = report.servers[kind];
      assert.deepEqual(
        s.idle.map((x: any) => [x.streams, x.failed]),
        [
          [100, 0],
          [200, 0],
        ],
      );
      for (const f of s.fanout) {
        assert.equal(f.missing, 0, `${kind} fan-out to ${f.streams}`);
        for (const r of f.rounds) assert.equal(r.n, f.streams);
      }
      const first = s.targeted.steps[0];
      assert.equal(first.failed, 0);
      assert.equal(first.committed, first.offered);
      assert.equal(first.delivered, first.offered, `${kind} targeted: delivered`);
      for (const r of s.replay.runs) assert.equal(r.received, r.expected, `${kind} replay`);
    });
  }

  it('the app ran in production mode with sessions it accepted, and measured the id-ordering alternatives', () => {
    assert.equal(exitCode, 0, output.slice(-3000));
    const app = report.servers.app;
    assert.ok(app.idOrdering.txPerNotificationWithLock > 0);
    assert.ok(app.idOrdering.txPerNotificationNoLock > 0);
    assert.ok(app.orders, 'the orders scenario ran or said why not');
  });

  it('leaves no process and no directory behind', () => {
    assert.equal(exitCode, 0, output.slice(-3000));
    for (const kind of ['app', 'bare', 'naive'])
      assert.ok(gone(report.servers[kind].pid), `${kind} process still running`);
    assert.ok(gone(report.cleanup.loadPid), 'load process still running');
    assert.equal(existsSync(report.cleanup.tmpDir), false);
  });
});
