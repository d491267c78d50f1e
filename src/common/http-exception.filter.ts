import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { DOMAIN_ERROR_STATUS, DomainError } from './domain-error.js';

/** Postgres error codes that mean "the database is not there right now". */
const UNAVAILABLE_PG_CODES = new Set(['57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006']);
const UNAVAILABLE_NET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND']);

export function isDatabaseUnavailable(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: string; message?: string; driverError?: unknown };
  if (e.driverError && isDatabaseUnavailable(e.driverError)) return true;
  if (e.code && (UNAVAILABLE_PG_CODES.has(e.code) || UNAVAILABLE_NET_CODES.has(e.code))) return true;
  const msg = e.message ?? '';
  return /timeout exceeded when trying to connect|Connection terminated|connection is closed|Client has encountered a connection error/i.test(
    msg,
  );
}

export interface ErrorBody {
  statusCode: number;
  message: string;
}

/** The status and JSON body for any thrown value: the contract's error shape. */
export function errorBody(exception: unknown): ErrorBody {
  if (exception instanceof DomainError) {
    return { statusCode: DOMAIN_ERROR_STATUS[exception.code], message: exception.message };
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const response = exception.getResponse();
    let message: unknown = typeof response === 'string' ? response : (response as { message?: unknown }).message;
    if (Array.isArray(message)) message = message.join('; ');
    return { statusCode: status, message: typeof message === 'string' ? message : exception.message };
  }
  if (isDatabaseUnavailable(exception)) {
    return { statusCode: 503, message: 'Service temporarily unavailable' };
  }
  return { statusCode: 500, message: 'Internal server error' };
}

/**
 * Every error leaves as `{ statusCode, message }`, typed as JSON whatever the route answers.
 * Unknown errors are 500 with a generic message and a log line; the stack never reaches the client.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const body = errorBody(exception);
    if (body.statusCode === 503) {
      // Expected while the database is away (or /health reports it): one line, not a stack per request.
      this.logger.warn(`503: ${exception instanceof Error ? exception.message : String(exception)}`);
    } else if (body.statusCode >= 500) {
      this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (body.statusCode === 503) res.setHeader('Retry-After', '5');
    // Set, not left to res.json: it keeps a type a route's @Header() set before the handler threw,
    // and GET /unsubscribe's text/html made a message naming the query's keys a page.
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.status(body.statusCode).json(body);
  }
}
