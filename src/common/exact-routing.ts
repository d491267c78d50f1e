import type { NestExpressApplication } from '@nestjs/platform-express';

interface RouterFlags {
  caseSensitive?: boolean;
  strict?: boolean;
}

/**
 * Paths are matched exactly: `/METRICS`, `/Metrics` and `/metrics/` are not
 * `/metrics` (a proxy that refuses one spelling must not find the route under
 * another). Express takes "case sensitive routing" and "strict routing" when
 * its app router is created, and Nest's adapter created it already (it mounts a
 * middleware in its constructor). The router reads both flags again for every
 * layer it adds, and Nest's own middleware matching reads them from the router,
 * so setting them here, before any route, static directory or page is mounted,
 * covers the whole app. Call it first in configureApp.
 */
export function useExactRouting(app: NestExpressApplication): void {
  app.set('case sensitive routing', true);
  app.set('strict routing', true);
  const router = (app.getHttpAdapter().getInstance() as { router: RouterFlags }).router;
  router.caseSensitive = true;
  router.strict = true;
}
