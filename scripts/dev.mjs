// `npm run start:dev`: the server in watch mode. tsc rebuilds the server, client and page
// projects on every change (incrementally); `node --watch` restarts the server when a file it
// loaded changes. The embedded PostgreSQL (no DATABASE_URL) restarts with it: it keeps its data.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const projects = ['tsconfig.build.json', 'tsconfig.public.json'].map((p) => join(root, p));
const tsc = join(root, 'node_modules/typescript/bin/tsc');
let server;
const watcher = spawn(process.execPath, [tsc, '-b', '-w', '--preserveWatchOutput', ...projects], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
watcher.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  // The first "Found 0 errors" means dist/ is complete: start the server once.
  if (!server && /Found 0 errors/.test(String(chunk))) {
    server = spawn(process.execPath, ['--watch', join(root, 'dist/src/main.js')], { stdio: 'inherit' });
  }
});
const stop = () => {
  watcher.kill('SIGTERM');
  server?.kill('SIGTERM');
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
