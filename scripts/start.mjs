// `npm start`: compile if any source is newer than the build (tsc is
// incremental, so an up-to-date build costs about a second), then serve.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const tsc = spawnSync(
  process.execPath,
  [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json')],
  { stdio: 'inherit' },
);
if (tsc.status !== 0 || !existsSync(join(root, 'dist/src/main.js'))) process.exit(tsc.status || 1);
await import(join(root, 'dist/src/main.js'));
