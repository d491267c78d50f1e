import { BadRequestException, INestApplication, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Server } from 'node:http';
import type { Pool } from 'pg';
import type { DestinationStream, Logger } from 'pino';
import { DataSource } from 'typeorm';
import { AppModule } from './app.module.js';
import { SessionCache } from './auth/session-cache.js';
import { sessionMiddlewares } from './auth/session.middleware.js';
import { UserCache } from './auth/user-cache.js';
import {
  BlankQueryIsAbsentPipe,
  BODY_LIMIT,
  BROADCAST_BODY_LIMIT,
  jsonBody,
  NotJsonBodyPipe,
  rejectNulInUrl,
} from './common/body-parsing.js';
import { useExactRouting } from './common/exact-routing.js';
import { HttpExceptionFilter } from './common/http-exception.filter.js';
import { API_PATH_PREFIX, originCheck, STREAM_PATH } from './common/origin-check.js';
import { securityHeaders } from './common/security-headers.js';
import { validationMessages } from './common/validation-message.js';
import type { AppConfig } from './config/env.js';
import { DOCS_PATH, setupOpenApi } from './docs/openapi.js';
import { createLogger, httpLogger, PinoNestLogger } from './logging/logging.js';
import { serveInboxPage } from './web/inbox-page.js';

export interface CreateAppOptions {
  /** Where the JSON log lines go (default: stdout); tests capture them here. */
  logDestination?: DestinationStream;
}

/**
 * Builds the configured app (not listening): the same for `npm start`, the
 * tests and the benchmark, so they exercise exactly what ships.
 */
export async function createApp(
  config: AppConfig,
  databaseUrl: string,
  options: CreateAppOptions = {},
): Promise<INestApplication> {
  const logger = createLogger(config.logLevel, options.logDestination);
  const app = await NestFactory.create<NestExpressApplication>(
    AppModule.forRoot(config, databaseUrl),
    nestApplicationOptions(logger),
  );
  return configureApp(app, config, logger);
}

/** Options for Nest's application: ours parse bodies, log through pino, and end open streams on close. */
export function nestApplicationOptions(logger: Logger) {
  return { bodyParser: false, forceCloseConnections: true, logger: new PinoNestLogger(logger) };
}

/**
 * Everything around the module: middleware order, pipes, filter, docs. Shared by
 * `createApp` and by tests that build the module with `@nestjs/testing`.
 */
export function configureApp(app: NestExpressApplication, config: AppConfig, logger: Logger): NestExpressApplication {
  keepConnectionsForBalancers(app.getHttpServer() as Server);
  // The client address (throttles, logs) is the socket's unless it is a proxy named in TRUST_PROXY.
  app.set('trust proxy', config.trustProxy.length > 0 ? config.trustProxy : false);
  app.disable('x-powered-by');
  useExactRouting(app);
  app.use(securityHeaders(DOCS_PATH));
  app.use(httpLogger(logger));
  app.use(rejectNulInUrl);
  app.use(originCheck(config.publicOrigins));
  serveInboxPage(app);
  // What a stream open does not use, behind one check: a request body (it is a GET), and the
  // session middlewares, since the stream authenticates itself (StreamAuthGuard) and
  // express-session's Session object and Passport's wiring would stay attached to a response
  // that lives for hours. One layer, not one per middleware: a reconnect storm passes it
  // thousands of times a second.
  const requestMachinery = express.Router({ caseSensitive: true, strict: true });
  requestMachinery.use('/admin/broadcasts', jsonBody(BROADCAST_BODY_LIMIT));
  // Forms: Twilio's webhook (read by its route) and RFC 8058's one-click POST (not read at all).
  requestMachinery.use(jsonBody(BODY_LIMIT, ['/sms/inbound', '/unsubscribe']));
  const pool = (app.get(DataSource).driver as unknown as { master: Pool }).master;
  const sessions = sessionMiddlewares(config, pool, app.get(SessionCache), app.get(UserCache)).handler;
  // /v1 authenticates by API key only: a cookie there is not even read.
  requestMachinery.use((req: Request, res: Response, next: NextFunction) =>
    req.path.startsWith(API_PATH_PREFIX) ? next() : sessions(req, res, next),
  );
  app.use(exceptStreamOpen(requestMachinery));
  app.useGlobalFilters(new HttpExceptionFilter());
  app.useGlobalPipes(
    new NotJsonBodyPipe(),
    new BlankQueryIsAbsentPipe(),
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: true,
      transform: true,
      exceptionFactory: (errors) => new BadRequestException(validationMessages(errors).join('; ') || 'Invalid request'),
    }),
  );
  setupOpenApi(app);
  return app;
}

/**
 * How long an idle kept-alive connection stays open: longer than the balancers in front
 * (nginx reuses upstream connections idle up to 60 s, `keepalive_timeout` in an upstream;
 * cloud balancers 60 s by default). With Node's 5 s a balancer sends a request on a connection
 * the server is closing at that moment: it is reset, and nginx does not retry a POST (a 502).
 */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

function keepConnectionsForBalancers(server: Server): void {
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  // A request's headers may arrive at the end of that wait; Node wants this longer.
  server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1_000;
}

/** Runs `handler` for every request except a stream open. */
function exceptStreamOpen(handler: RequestHandler): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) =>
    req.method === 'GET' && req.path === STREAM_PATH ? next() : handler(req, res, next);
}
