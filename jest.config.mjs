// Jest 30, TypeScript ESM through ts-jest (run under `node --experimental-vm-modules`, see
// package.json). One PostgreSQL per run (test/jest/global-setup.mjs); every test file clones
// a migrated template into a database of its own (test/support/app.ts), so files run in
// parallel without sharing rows.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

// Extra suites, by file name, with what they need. On a developer machine a suite whose
// dependency is missing is left out with a note; under CI=true every suite runs, and one
// whose dependency is missing fails rather than skips.
const ci = !!process.env.CI && !['false', '0'].includes(process.env.CI);
const onPath = (bin) =>
  [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/local/sbin'].some((d) => d && existsSync(join(d, bin)));
const redisUrl = process.env.TEST_REDIS_URL || process.env.REDIS_URL;
const extras = [
  { suffix: '.redis.test.ts', name: 'Redis bus', ok: !!redisUrl, hint: 'set TEST_REDIS_URL=redis://…' },
  { suffix: '.nginx.test.ts', name: 'nginx proxy', ok: onPath('nginx'), hint: 'apt-get install nginx' },
  {
    suffix: '.browser.test.ts',
    name: 'browser',
    ok: existsSync('/usr/bin/chromium'),
    hint: 'apt-get install chromium',
  },
];
const ignored = ['/node_modules/', '/dist/'];
for (const extra of extras) {
  if (extra.ok || ci) continue;
  ignored.push(`\\${extra.suffix.replace(/\./g, '\\.')}$`);
  // Printed once by the main process (workers do not load this file).
  console.log(`# ${extra.name} suites (*${extra.suffix}) not run: ${extra.hint}, or CI=true to make them fail instead`);
}

/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ignored,
  extensionsToTreatAsEsm: ['.ts'],
  // Sources import siblings as './x.js' (NodeNext); under Jest they are the .ts files.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] },
  globalSetup: '<rootDir>/test/jest/global-setup.mjs',
  globalTeardown: '<rootDir>/test/jest/global-teardown.mjs',
  maxWorkers: 2,
  // Setting a limit makes Jest run even a single file in a worker (it would run it in its own
  // process otherwise), so every file sees what global-setup put in the environment at start:
  // NODE_EXTRA_CA_CERTS, which the outbound client's TLS trusts the test push services by.
  workerIdleMemoryLimit: '2GB',
  // End-to-end files start apps, browsers, nginx and child instances: minutes, not seconds.
  testTimeout: 180_000,
  // A test that leaves a handle open is a bug; say so instead of hanging the run.
  detectOpenHandles: false,
  forceExit: false,
};
