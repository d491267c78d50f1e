import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import { join } from 'node:path';
import { DIST, PROJECT_ROOT as ROOT } from '../common/paths.js';

/**
 * Only this origin's own files and API: no inline script or style, no
 * third-party anything, no framing. The page renders text with textContent;
 * this is the second line of defence.
 */
export const INBOX_PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

function securityHeaders(res: Response): void {
  res.setHeader('Content-Security-Policy', INBOX_PAGE_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'same-origin');
  // Revalidated on every load (cheap with ETags): a deploy is seen at once.
  res.setHeader('Cache-Control', 'no-cache');
}

/**
 * The inbox page and the browser client as static files:
 *   /           public/index.html
 *   /sw.js      dist/public/sw.js (the service worker: Web Push to system notifications)
 *   /assets/    public/ (styles, icon) and dist/public/ (the page's compiled script)
 *   /client/    dist/client/ (the typed client, native ES modules, and its SharedWorker)
 * Mounted before the session middleware, so assets cost no session lookup;
 * every other path falls through to the API untouched.
 */
export function serveInboxPage(app: NestExpressApplication): void {
  const options = {
    index: false,
    fallthrough: true,
    redirect: false,
    dotfiles: 'ignore' as const,
    setHeaders: securityHeaders,
  };
  app.useStaticAssets(join(ROOT, 'public'), { prefix: '/assets/', ...options });
  app.useStaticAssets(join(DIST, 'public'), { prefix: '/assets/', ...options });
  app.useStaticAssets(join(DIST, 'client'), { prefix: '/client/', ...options });
  // The service worker lives at the root, not under /assets/: a worker's scope is at most its
  // script's folder, and it must see notification clicks for the whole origin. The page's headers
  // are its own policy too (a worker's CSP comes from its script's answer).
  const files: Record<string, string> = {
    '/': join(ROOT, 'public/index.html'),
    '/sw.js': join(DIST, 'public/sw.js'),
  };
  app.use((req: Request, res: Response, next: NextFunction) => {
    const file = Object.hasOwn(files, req.path) ? files[req.path] : undefined;
    if (!file || (req.method !== 'GET' && req.method !== 'HEAD')) return next();
    securityHeaders(res);
    res.sendFile(file, (err) => {
      if (err && !res.headersSent) next(err);
    });
  });
}
