import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { createApp } from './app.factory.js';
import { HttpDrain } from './common/http-drain.js';
import { STREAM_PATH } from './common/origin-check.js';
import { AuthService, type BootstrapAdmin } from './auth/auth.service.js';
import { ConfigError, loadConfig, type AppConfig } from './config/env.js';
import { startEmbeddedPostgres, type EmbeddedServer } from './database/embedded-postgres.js';
import { embeddedAppDatabase } from './database/app-role.js';
import { checkDatabaseUrl } from './database/ensure-database.js';
import { runMigrations } from './database/migrate.js';
import { StreamHub } from './notifications/stream-hub.js';

function loadOrExit(): AppConfig {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`Configuration error: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
}

async function main(): Promise<void> {
  const config = loadOrExit();
  // Before anything is started or written: a port in use is found in a moment, not after migrations.
  await portAvailable(config.port);
  let embedded: EmbeddedServer | undefined;
  // Ctrl-C while starting: leave the embedded server (its last user stops it), then exit.
  const abortStart = (signal: NodeJS.Signals) =>
    void (embedded?.stop() ?? Promise.resolve()).finally(() => process.exit(128 + osConstants.signals[signal]));
  process.once('SIGTERM', abortStart);
  process.once('SIGINT', abortStart);
  if (config.databaseUrl) {
    await checkDatabaseUrl(config.databaseUrl);
  } else {
    console.log(`Starting embedded PostgreSQL in ${join(config.dataDir, 'postgres')} …`);
    embedded = await startEmbeddedPostgres({ databaseDir: join(config.dataDir, 'postgres') });
  }
  let app: INestApplication | undefined;
  let admin: BootstrapAdmin;
  let drain: HttpDrain;
  try {
    const databaseUrl = config.databaseUrl ?? (await embeddedAppDatabase(embedded!, config.dataDir));
    await runMigrations(databaseUrl);
    app = await createApp(config, databaseUrl);
    // From the first connection on: shutdown must know every socket and when it went idle.
    drain = new HttpDrain(app.getHttpServer() as Server, (req) => req.method === 'GET' && isStreamOpen(req.url));
    await app.listen(config.port).catch((err: unknown) => {
      throw listenError(err, config.port);
    });
    // Only once it serves: a start that fails before this creates no admin whose password nobody saw.
    admin = await app.get(AuthService).ensureBootstrapAdmin();
  } catch (err) {
    await app?.close().catch(() => undefined);
    await embedded?.stop();
    throw err;
  }
  const server = app.getHttpServer() as Server;
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  console.log(`Notifications service listening on http://localhost:${port}/`);
  console.log(
    config.delivery.smtpUrl
      ? `Email: SMTP_URL, from ${config.delivery.mailFrom}`
      : `Email: no SMTP_URL, so emails are written as .eml files to ${config.delivery.outboxDir}`,
  );
  const shared = embedded?.joined ? ', already running: shared with the instances using it' : '';
  console.log(`Database: ${embedded ? `embedded PostgreSQL on 127.0.0.1:${embedded.port}${shared}` : 'DATABASE_URL'}`);
  if (admin.generatedPassword) {
    console.log(`Admin login (shown once): ${admin.email} / ${admin.generatedPassword}`);
  } else {
    console.log(`Admin login: ${admin.email} (password from ADMIN_PASSWORD or set earlier)`);
  }

  const shutdown = async (signal: string) => {
    if (drain.isDraining) return;
    console.log(`${signal}: closing the listening socket, ending streams, draining connections`);
    const force = setTimeout(() => process.exit(1), config.shutdownDrainMs + 20_000);
    force.unref();
    try {
      // 1. No new connections (the balancer and browsers retry on another instance); whatever
      //    arrives on a kept-alive connection is answered with `Connection: close`.
      const drained = drain.drain(config.shutdownDrainMs, config.shutdownDrainMs + 10_000);
      // 2. Open streams end cleanly; EventSource reconnects elsewhere (spread in time) and replays.
      app.get(StreamHub).endAllSpread();
      // 3. Connections close (idle ones once idle for the drain window); then the HTTP server,
      //    the bus, the pool and Postgres stop.
      const result = await drained;
      console.log(
        `${signal}: drained (${result.closedAfterResponse} answered with Connection: close, ` +
          `${result.refusedLong} stream opens refused, ${result.closedIdle} idle closed, ${result.leftOpen} cut)`,
      );
      await app.close();
      await embedded?.stop();
      process.exit(0);
    } catch (err) {
      console.error(err);
      process.exit(1);
    }
  };
  process.off('SIGTERM', abortStart);
  process.off('SIGINT', abortStart);
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

/** The stream's exact path (the app routes only that spelling), with or without a query. */
function isStreamOpen(url: string | undefined): boolean {
  return url === STREAM_PATH || url?.startsWith(`${STREAM_PATH}?`) === true;
}

/**
 * Rejects when something already listens on `port`, found by connecting to it on loopback rather
 * than by listening on it: a listening probe, however brief, takes the connections a balancer sends
 * a restarting instance at that instant and resets them as it closes (a POST reset is a 502). What
 * a connection cannot see (a privileged port, an address bound elsewhere), the listen reports.
 */
async function portAvailable(port: number): Promise<void> {
  if (port === 0) return;
  for (const host of ['127.0.0.1', '::1']) {
    if (await somethingListens(host, port)) throw listenError(Object.assign(new Error(), { code: 'EADDRINUSE' }), port);
  }
}

function somethingListens(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const answer = (listens: boolean) => {
      socket.destroy();
      resolve(listens);
    };
    socket.once('connect', () => answer(true));
    // Refused, or no IPv6 here.
    socket.once('error', () => answer(false));
    // Loopback answers at once; no answer is a listener whose queue is full.
    socket.setTimeout(2000, () => answer(true));
  });
}

/** A port that cannot be had is the operator's to fix, in one line, like a bad variable. */
function listenError(err: unknown, port: number): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') {
    return new ConfigError(`PORT ${port} is already in use: stop what listens there, or set PORT to another port`);
  }
  if (code === 'EACCES') return new ConfigError(`PORT ${port} needs privileges this process lacks: use one above 1023`);
  return err;
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(`Configuration error: ${err.message}`);
  else console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
