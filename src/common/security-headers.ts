import type { NextFunction, Request, Response } from 'express';

/**
 * Answers that are data, not pages (JSON, the stream, /metrics): nothing may
 * run, load or frame them even if a browser is tricked into rendering one.
 */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/**
 * Swagger UI at /docs: its scripts and styles come from this origin
 * (swagger-ui-dist, no CDN); its page has inline <style> blocks and style
 * attributes, and its icons are data: URIs. No inline script is needed (the
 * document is in swagger-ui-init.js).
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The headers every answer carries, set before anything else runs so that early
 * refusals (400, 403, 413) and 404s have them too. `helmet` would do the same
 * with more defaults to review; these are the ones this service needs, and
 * `Cache-Control: no-store` on the API's answers. Pages
 * that need a different policy (the inbox page) set their own CSP afterwards;
 * compression and the stream's headers are left alone.
 */
export function securityHeaders(docsPath: string) {
  const docs = `/${docsPath.replace(/^\/+/, '')}`;
  return (req: Request, res: Response, next: NextFunction): void => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Referrer-Policy', 'no-referrer');
    const isDocs = req.path === docs || req.path.startsWith(`${docs}/`);
    res.setHeader('Content-Security-Policy', isDocs ? DOCS_CSP : API_CSP);
    // The API's answers are one user's (a CSRF token, contacts, the inbox): no cache, shared or the
    // browser's, may keep them. The page, its assets and the stream set their own.
    if (!isDocs) res.setHeader('Cache-Control', 'no-store');
    next();
  };
}
