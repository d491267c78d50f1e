import type { NextFunction, Request, RequestHandler, Response } from 'express';
import express from 'express';

/** Contract limits: 64 KB for every body, 1 MB for admin broadcasts. */
export const BODY_LIMIT = 64 * 1024;
export const BROADCAST_BODY_LIMIT = 1024 * 1024;

function send(res: Response, statusCode: number, message: string): void {
  res.status(statusCode).json({ statusCode, message });
}

/** True if any string (key or value) in a parsed JSON value holds U+0000. */
export function containsNul(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (depth > 64 || value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some((v) => containsNul(v, depth + 1));
  for (const [k, v] of Object.entries(value)) {
    if (k.includes('\u0000') || containsNul(v, depth + 1)) return true;
  }
  return false;
}

/**
 * express.json with the contract's answers: 413 past the limit, 400 for
 * malformed JSON or a U+0000 anywhere (Postgres cannot store it), as JSON
 * errors, before any route code runs.
 */
export function jsonBody(limit: number): RequestHandler {
  const parse = express.json({ limit, strict: true });
  return (req: Request, res: Response, next: NextFunction) => {
    parse(req, res, (err?: unknown) => {
      if (err) {
        const e = err as { status?: number; type?: string };
        if (e.status === 413 || e.type === 'entity.too.large')
          return send(res, 413, `Request body is larger than ${limit} bytes`);
        if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported')
          return send(res, 415, 'Unsupported body encoding');
        return send(res, 400, 'Malformed JSON body');
      }
      if (containsNul(req.body)) return send(res, 400, 'Text must not contain U+0000');
      // No body at all reads as {}, so optional-only bodies (read-all) need none.
      if (req.body === undefined) req.body = {};
      next();
    });
  };
}

/** U+0000 in the query string or path: refused before routing. */
export function rejectNulInUrl(req: Request, res: Response, next: NextFunction): void {
  if (/%00/i.test(req.originalUrl)) return send(res, 400, 'Text must not contain U+0000');
  next();
}
