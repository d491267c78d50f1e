// `npm start`: build what the server needs if any source is newer than the
// build (`tsc -b` of the server, client and page projects, as `npm run build`;
// incremental, so an up-to-date build costs about a second), then serve.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { withBuildLock } from './build-lock.mjs';

const root = new URL('..', import.meta.url).pathname;
const tsc = await withBuildLock(join(root, 'dist/.build-lock'), () =>
  spawnSync(
    process.execPath,
    [
      join(root, 'node_modules/typescript/bin/tsc'),
      '-b',
      join(root, 'tsconfig.build.json'),
      join(root, 'tsconfig.public.json'),
    ],
    { stdio: 'inherit' },
  ),
);
if (tsc.status !== 0 || !existsSync(join(root, 'dist/src/main.js'))) process.exit(tsc.status || 1);
await import(join(root, 'dist/src/main.js'));
