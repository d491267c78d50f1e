// `npm run bench` (add `-- --smoke` for the CI-sized run): compile every
// project (`tsc -b`, incremental), then run the orchestrator in
// dist/bench/run.js with the same arguments. See bench/run.ts and docs/performance.md.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const tsc = spawnSync(
  process.execPath,
  [join(root, 'node_modules/typescript/bin/tsc'), '-b', join(root, 'tsconfig.json')],
  { stdio: 'inherit' },
);
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
const run = spawnSync(process.execPath, [join(root, 'dist/bench/run.js'), ...process.argv.slice(2)], {
  stdio: 'inherit',
});
process.exit(run.status ?? 1);
