import { afterAll, beforeAll } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import type { Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { configureApp, nestApplicationOptions } from '../../src/app.factory.js';
import { AppModule } from '../../src/app.module.js';
import { createLogger } from '../../src/logging/logging.js';
import { AuthService } from '../../src/auth/auth.service.js';
import { loadConfig } from '../../src/config/env.js';
import { provisionAppDatabase } from '../../src/database/app-role.js';
import { ensureDatabase } from '../../src/database/ensure-database.js';

/**
 * A fresh database per test file, cloned from the migrated template that
 * test/jest/global-setup.mjs prepared. Fails loudly when run outside `npm test`.
 */
export async function freshDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const adminUrl = process.env.TEST_PG_ADMIN_URL;
  const template = process.env.TEST_PG_TEMPLATE;
  if (!adminUrl || !template)
    throw new Error('Run the tests through `npm test` (it starts PostgreSQL and migrates a template)');
  const name = `nt_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  // As the service's own role on the embedded server (test/jest/global-setup.mjs).
  const appPassword = process.env.TEST_PG_APP_PASSWORD;
  const url = appPassword
    ? await provisionAppDatabase(adminUrl, name, appPassword, template)
    : await ensureDatabase(adminUrl, name, template);
  return {
    url,
    drop: async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    },
  };
}

/**
 * Ends a pool a test used. pool.end() resolves before its connections have closed; a drop (WITH
 * FORCE) right after ends them itself, and the pool reports that as an error event no one is
 * listening to any more: an unhandled error that fails whichever test runs in that process then.
 */
export async function endPool(pool: pg.Pool): Promise<void> {
  pool.on('error', () => undefined);
  await pool.end();
}

export interface TestApp {
  app: INestApplication;
  baseUrl: string;
  port: number;
  databaseUrl: string;
  /** A pool on the same database, for arranging and asserting rows. */
  db: pg.Pool;
  adminEmail: string;
  adminPassword: string;
  close(): Promise<void>;
}

export const ADMIN_PASSWORD = 'admin-password-1';

/**
 * The test app shared by the tests of a file or describe block: started before them (the
 * answer's fields are set then), closed after them.
 */
export function sharedTestApp(env: Record<string, string> = {}): TestApp {
  const shared = {} as TestApp;
  let started: TestApp | undefined;
  beforeAll(async () => {
    started = await startTestApp(env);
    Object.assign(shared, started);
  });
  afterAll(async () => {
    await started?.close();
  });
  return shared;
}

/**
 * The real app on a real database, listening on a free port (or on `port`:
 * a restart test starts a second app on the first one's port and database).
 */
export async function startTestApp(
  env: Record<string, string> = {},
  database?: { url: string; drop: () => Promise<void> },
  options: { port?: number } = {},
): Promise<TestApp> {
  const dbHandle = database ?? (await freshDatabase());
  // Its own DATA_DIR unless the test gives one; removed on close.
  const dataDir = env.DATA_DIR === undefined ? mkdtempSync(join(tmpdir(), 'notif-test-')) : undefined;
  const config = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    SESSION_SECRET: 'test-secret-test-secret-test-secret-0123',
    ADMIN_EMAIL: 'admin@example.com',
    ADMIN_PASSWORD,
    LOG_LEVEL: 'error',
    // Suites sign up many users from 127.0.0.1; the sign-up rate has its own test.
    SIGNUP_RATE_PER_MINUTE: '100000',
    ...env,
  });
  // The real module through @nestjs/testing (so a test may override a provider), configured
  // exactly as `createApp` configures what ships.
  const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot(config, dbHandle.url)] }).compile();
  const logger = createLogger(config.logLevel);
  const app = configureApp(
    moduleRef.createNestApplication<NestExpressApplication>(nestApplicationOptions(logger)),
    config,
    logger,
  );
  await app.get(AuthService).ensureBootstrapAdmin();
  await app.listen(options.port ?? 0, '127.0.0.1');
  const address = (app.getHttpServer() as Server).address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const db = new pg.Pool({ connectionString: dbHandle.url, max: 4 });
  return {
    app,
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    databaseUrl: dbHandle.url,
    db,
    adminEmail: config.admin.email,
    adminPassword: ADMIN_PASSWORD,
    async close() {
      await app.close();
      await endPool(db);
      if (!database) await dbHandle.drop();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
