// `npm run pack:client [-- --pack-destination DIR]`: the client as an npm
// package (@notifications/client). Builds the client project (`tsc -b
// tsconfig.client.json`, incremental), stages its compiled files (the same
// dist/client/*.js, *.js.map and *.d.ts the server serves at /client/) with
// client/package.json and client/README.md in dist/client-package/, and runs
// `npm pack` on that folder. Prints the tarball's path (default: in dist/).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const at = args.indexOf('--pack-destination');
const destination = resolve(at >= 0 && args[at + 1] ? args[at + 1] : join(root, 'dist'));

const tsc = spawnSync(
  process.execPath,
  [join(root, 'node_modules/typescript/bin/tsc'), '-b', join(root, 'tsconfig.client.json')],
  { stdio: 'inherit' },
);
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

// Only the outputs of today's sources: a stale file left in dist/client by a
// deleted or renamed source is not shipped.
const built = join(root, 'dist/client');
const stage = join(root, 'dist/client-package');
rmSync(stage, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });
const modules = readdirSync(join(root, 'client'))
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
  .map((f) => f.slice(0, -'.ts'.length));
for (const name of modules) {
  for (const file of [`${name}.js`, `${name}.js.map`, `${name}.d.ts`]) {
    if (!existsSync(join(built, file))) {
      console.error(`pack-client: dist/client/${file} is missing after the build`);
      process.exit(1);
    }
    copyFileSync(join(built, file), join(stage, file));
  }
}
copyFileSync(join(root, 'client/package.json'), join(stage, 'package.json'));
copyFileSync(join(root, 'client/README.md'), join(stage, 'README.md'));

// Run under `npm run` (or a test under `npm test`), npm's environment names the
// service's own project as the prefix; the nested npm must pack the staged folder.
const env = Object.fromEntries(
  Object.entries(process.env).filter(
    ([k]) => !/^npm_(package_|lifecycle_|command$|config_local_prefix$|config_prefix$)/.test(k),
  ),
);
mkdirSync(destination, { recursive: true });
const pack = spawnSync(
  'npm',
  ['pack', stage, '--json', '--ignore-scripts', '--pack-destination', destination, '--loglevel', 'error'],
  { cwd: stage, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
);
if (pack.status !== 0) process.exit(pack.status ?? 1);
const [info] = JSON.parse(pack.stdout);
console.log(join(destination, info.filename));
