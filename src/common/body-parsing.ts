import { type ArgumentMetadata, BadRequestException, Injectable, type PipeTransform } from '@nestjs/common';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import express from 'express';

/** Contract limits: 64 KB for every body, 1 MB for admin broadcasts. */
export const BODY_LIMIT = 64 * 1024;
export const BROADCAST_BODY_LIMIT = 1024 * 1024;

function send(res: Response, statusCode: number, message: string): void {
  res.status(statusCode).json({ statusCode, message });
}

/** Deepest nesting of arrays and objects a body may have (the contract's limit). */
export const MAX_JSON_DEPTH = 64;

/** Keys that mean something to JavaScript objects; refused anywhere in a body. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

const OPEN_BRACKET = 0x5b;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACKET = 0x5d;
const CLOSE_BRACE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Whether JSON text nests deeper than `max`, by one pass over its UTF-8 bytes (these
 * ASCII bytes never occur inside a multi-byte character), skipping strings;
 * stops at the first level too deep. No recursion, so 3,000 levels cost a
 * loop, not a stack; run before parsing, so nothing recursive (the validator,
 * class-transformer) ever sees deep input. Malformed text is the parser's to refuse.
 */
export function jsonDepthExceeds(bytes: Uint8Array, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
    } else if (b === QUOTE) inString = true;
    else if (b === OPEN_BRACKET || b === OPEN_BRACE) {
      if (++depth > max) return true;
    } else if (b === CLOSE_BRACKET || b === CLOSE_BRACE) depth--;
  }
  return false;
}

const NUL = 'Text must not contain U+0000';
const LONE_SURROGATE = 'Text must be well-formed Unicode (a lone surrogate is not)';

/** Why a string of a body is refused, or null. */
function textRefusal(text: string): string | null {
  if (text.includes('\u0000')) return NUL;
  // A "\ud800" escape parses to half a character, which no text is: validators throw on it
  // (isEmail's encodeURI) and the driver would store U+FFFD in its place.
  return (text as string & { isWellFormed(): boolean }).isWellFormed() ? null : LONE_SURROGATE;
}

/**
 * Why a parsed body is refused, or null: a key from FORBIDDEN_KEYS at any depth
 * (JSON.parse makes `__proto__` an own property, so it is seen, and so are
 * escaped spellings such as `"\u005f_proto__"`), U+0000 in any key or string
 * (Postgres cannot store it), or a lone surrogate. Iterative, with an explicit stack.
 */
export function refusalOf(value: unknown): string | null {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      const refusal = textRefusal(v);
      if (refusal !== null) return refusal;
    } else if (Array.isArray(v)) {
      for (const item of v) stack.push(item);
    } else if (v !== null && typeof v === 'object') {
      for (const key of Object.keys(v)) {
        if (FORBIDDEN_KEYS.has(key)) return `The key "${key}" is not allowed in a JSON body`;
        const refusal = textRefusal(key);
        if (refusal !== null) return refusal;
        stack.push((v as Record<string, unknown>)[key]);
      }
    }
  }
  return null;
}

class TooDeep extends Error {
  readonly status = 400;
  readonly type = 'json.too.deep';
  readonly expose = true;
}

/**
 * express.json with the contract's answers, as JSON errors, before any route
 * code runs: 413 past the limit, 400 for malformed JSON, nesting deeper than
 * MAX_JSON_DEPTH (checked on the raw bytes before parsing), a forbidden key,
 * U+0000 or a lone surrogate anywhere. None of these is an exception in a handler,
 * so none logs a stack trace. A body of another type than JSON is read (413 past
 * the limit) and left as a mark for NotJsonBodyPipe, except on `formRoutes`, which
 * read their forms themselves or not at all.
 */
export function jsonBody(limit: number, formRoutes: readonly string[] = []): RequestHandler {
  const parse = express.json({
    limit,
    strict: true,
    verify: (_req, _res, buf) => {
      if (jsonDepthExceeds(buf, MAX_JSON_DEPTH)) throw new TooDeep();
    },
  });
  const discard = express.raw({ type: () => true, limit });
  return (req: Request, res: Response, next: NextFunction) => {
    if (notJson(req) && !formRoutes.includes(req.path)) {
      return discard(req, res, (err?: unknown) => {
        if ((err as { status?: number } | undefined)?.status === 413)
          return send(res, 413, `Request body is larger than ${limit} bytes`);
        if (err) return send(res, 400, NOT_JSON_MESSAGE);
        req.body = { [NOT_JSON]: true };
        next();
      });
    }
    parse(req, res, (err?: unknown) => {
      if (err) {
        const e = err as { status?: number; type?: string };
        if (e.status === 413 || e.type === 'entity.too.large')
          return send(res, 413, `Request body is larger than ${limit} bytes`);
        if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported')
          return send(res, 415, 'Unsupported body encoding');
        if (e.type === 'json.too.deep')
          return send(res, 400, `JSON body is nested deeper than ${MAX_JSON_DEPTH} levels`);
        return send(res, 400, 'Malformed JSON body');
      }
      const refusal = refusalOf(req.body);
      if (refusal !== null) return send(res, 400, refusal);
      // No body at all reads as {}, so optional-only bodies (read-all) need none.
      if (req.body === undefined) req.body = {};
      next();
    });
  };
}

const NOT_JSON = Symbol('body not JSON');
const NOT_JSON_MESSAGE = 'The body must be JSON (Content-Type: application/json)';

/**
 * Refuses (400) the body of a route that reads one when jsonBody found it of another type than
 * JSON. Read as {}, it would pass for a body of optional fields: a read-all of one channel would
 * read them all. A pipe, so that the session and the CSRF token are judged first (401, 403), as
 * for a JSON body; not an interceptor, which would make Nest run every handler inside an
 * Observable and so turn an @Sse route's refusal (401) into a 200 stream that errors.
 */
@Injectable()
export class NotJsonBodyPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type === 'body' && typeof value === 'object' && value !== null && NOT_JSON in value) {
      throw new BadRequestException(NOT_JSON_MESSAGE);
    }
    return value;
  }
}

/**
 * A query parameter left blank (`channel=`, as in the contract's own
 * `GET /notifications?limit=20&before=<id>&channel=&unread=true`, or a form's empty field) is an
 * absent one, on every route that reads its query as a DTO: removed before validation.
 */
@Injectable()
export class BlankQueryIsAbsentPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type !== 'query' || metadata.data !== undefined || typeof value !== 'object' || value === null) {
      return value;
    }
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== ''));
  }
}

/** A state-changing request carrying a body of another type than JSON (or of none named). */
function notJson(req: Request): boolean {
  if (!UNSAFE_METHODS.has(req.method)) return false;
  const carries = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length']) > 0;
  return carries && !req.is('application/json');
}

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** U+0000 in the query string or path: refused before routing. */
export function rejectNulInUrl(req: Request, res: Response, next: NextFunction): void {
  if (/%00/i.test(req.originalUrl)) return send(res, 400, 'Text must not contain U+0000');
  next();
}
