import type { LoggerService } from '@nestjs/common';
import type { Request, RequestHandler, Response } from 'express';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from '../config/env.js';
import type { SessionUser } from '../auth/session-user.js';

/**
 * Structured JSON logs: one pino logger per app, one line per request.
 *
 * Secrets stay out by construction rather than by luck: the request and
 * response serializers below list the few fields worth logging, so cookies,
 * Set-Cookie, X-CSRF-Token and bodies (passwords, csrfToken answers) are never
 * serialized at all. `redact` is the second line of defence for anything
 * logged by hand under one of those names.
 */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: [
          'password',
          '*.password',
          'csrfToken',
          '*.csrfToken',
          'cookie',
          '*.cookie',
          '*.headers.cookie',
          '*.headers["set-cookie"]',
          '*.headers["x-csrf-token"]',
          '*.headers.authorization',
        ],
        censor: '[redacted]',
      },
    },
    destination ?? bufferedStdout(),
  );
}

/**
 * Standard output, written 4 KB at a time and at least every 250 ms instead of
 * one write(2) per line: on these machines a system call costs more than the
 * rest of a request's logging. pino writes out what is buffered when the
 * process exits (also on a crash it reports).
 */
function bufferedStdout(): DestinationStream {
  const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  setInterval(() => {
    try {
      destination.flush();
    } catch {
      // Destroyed: stdout is gone. Logging must not take the service down with it.
    }
  }, 250).unref();
  return destination;
}

/**
 * A client or proxy may pass its own X-Request-Id (nginx forwards its
 * $request_id) so one id follows a request across hops; anything that is not
 * a short token is replaced, so the header cannot smuggle text into logs.
 */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestId(req: IncomingMessage, res: ServerResponse): string {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
  res.setHeader('X-Request-Id', id);
  return id;
}

/**
 * Query parameters that carry a credential (the unsubscribe link's token): their values never
 * reach a log line. The API puts no other secret in a URL.
 */
const SECRET_QUERY = /([?&](?:token)=)[^&#]*/gi;

/** A request target as logged: the values of credential query parameters replaced. */
export function loggableUrl(url: string): string {
  return url.includes('?') ? url.replace(SECRET_QUERY, '$1[redacted]') : url;
}

/**
 * The request logger: mounted first, so requests refused before routing (413,
 * malformed JSON, U+0000 in the URL) get their line too. One line when the
 * response ends, built from a few fields only then: no per-request child
 * logger or serializer closures (pino-http's cost this replaces), and a stream,
 * which lives for hours, holds only this one listener. A stream's line is
 * written when it ends, with its duration as responseTime (its opening has a
 * line of its own, from the stream service).
 */
export function httpLogger(root: Logger): RequestHandler {
  // The line below is built from named fields that hold no secret, so it skips the redaction
  // pass (a walk of every line over the redact paths, ~4 % of a request's CPU in a profile).
  const logger = root.child({}, { redact: [] });
  return (req: Request & { id?: string }, res: Response, next) => {
    const started = performance.now();
    const id = requestId(req, res);
    req.id = id;
    res.once('close', () => {
      const statusCode = res.statusCode;
      const level = statusCode >= 500 ? 'error' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      const user = req.user as SessionUser | undefined;
      const line: Record<string, unknown> = {
        reqId: id,
        req: {
          method: req.method,
          url: loggableUrl(req.originalUrl ?? req.url),
          remoteAddress: req.ip,
          userAgent: req.headers['user-agent'],
        },
        res: { statusCode },
        responseTime: Math.round(performance.now() - started),
      };
      if (user) line.userId = user.id;
      logger[level](
        line,
        statusCode >= 500 ? 'request errored' : res.writableFinished ? 'request completed' : 'request aborted',
      );
    });
    next();
  };
}

/** Nest's bootstrap chatter: useful when debugging, noise at info. */
const DEBUG_CONTEXTS = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer']);

/**
 * Nest's own logs (bootstrap, the exception filter's 500s, services' `Logger`)
 * as JSON lines through the same pino logger. Nest passes the context as the
 * last string argument, and error() a stack before it.
 */
export class PinoNestLogger implements LoggerService {
  /**
   * A child logger per context, so `context` is serialised once, not with each
   * line: a plain message (a stream opening, thousands a second in a storm)
   * then carries no object for pino to copy and redact.
   */
  private readonly byContext = new Map<string, Logger>();

  constructor(private readonly logger: Logger) {}

  log(message: unknown, ...params: unknown[]): void {
    const context = contextOf(params);
    this.write(context && DEBUG_CONTEXTS.has(context) ? 'debug' : 'info', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  private write(
    level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace',
    message: unknown,
    params: unknown[],
  ): void {
    if (!this.logger.isLevelEnabled(level)) return;
    const context = contextOf(params);
    const rest = context === undefined ? params : params.slice(0, -1);
    const fields: Record<string, unknown> = {};
    if (message instanceof Error) fields.err = message;
    else if (message !== null && typeof message === 'object') fields.data = message;
    const stack = rest.find((p): p is string => typeof p === 'string' && p.includes('\n    at '));
    if (stack) fields.stack = stack;
    const text = typeof message === 'string' ? message : message instanceof Error ? message.message : undefined;
    const logger = context ? this.contextLogger(context) : this.logger;
    if (typeof message === 'string' && !stack) logger[level](text);
    else logger[level](fields, text);
  }

  private contextLogger(context: string): Logger {
    let logger = this.byContext.get(context);
    if (!logger) this.byContext.set(context, (logger = this.logger.child({ context })));
    return logger;
  }
}

function contextOf(params: unknown[]): string | undefined {
  const last = params.at(-1);
  return params.length > 0 && typeof last === 'string' && !last.includes('\n') ? last : undefined;
}
