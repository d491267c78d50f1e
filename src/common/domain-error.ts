/**
 * Errors the domain raises on purpose, each with a code; the one exception
 * filter (http-exception.filter.ts) maps codes to HTTP statuses, so services
 * never import HTTP types.
 */
export const DOMAIN_ERROR_STATUS = {
  NOT_FOUND: 404,
  CONFLICT: 409,
  UNPROCESSABLE: 422,
  INVALID: 400,
  FORBIDDEN: 403,
  UNAUTHORIZED: 401,
  TOO_MANY: 429,
  UNAVAILABLE: 503,
} as const;

export type DomainErrorCode = keyof typeof DOMAIN_ERROR_STATUS;

export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export const notFound = (what = 'Not found') => new DomainError('NOT_FOUND', what);
export const conflict = (why: string) => new DomainError('CONFLICT', why);
export const invalid = (why: string) => new DomainError('INVALID', why);
