import type { NextFunction, Request, Response } from 'express';

/** The stream: a GET, but opening one takes one of the user's MAX_STREAMS_PER_USER slots. */
export const STREAM_PATH = '/notifications/stream';

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * The one place for routes that any site may call: they authenticate by
 * something other than the session cookie, so a foreign Origin proves nothing.
 * RFC 8058 one-click unsubscribe is the case: mail clients POST it from
 * anywhere, with the signed token in its URL and no Origin of ours. Add a route
 * here only if it never acts on the cookie's session.
 */
export const ORIGIN_CHECK_EXEMPT: ReadonlyArray<{ readonly method: string; readonly path: string }> = [
  { method: 'POST', path: '/unsubscribe' },
];

/**
 * The API for other services: every route under it takes an API key in
 * `Authorization` and nothing else (the session middleware skips it), which no
 * browser attaches by itself, so an Origin proves nothing there either.
 */
export const API_PATH_PREFIX = '/v1/';

/** What the check needs from a request (Express computes protocol and host, honouring "trust proxy"). */
export interface OriginFacts {
  method: string;
  path: string;
  origin: string | undefined;
  secFetchSite: string | undefined;
  protocol: string;
  host: string | undefined;
}

/** `scheme://host[:port]` in the form browsers send in `Origin` (lower-case host, no default port). */
export function serializeOrigin(raw: string): string | null {
  try {
    const url = new URL(raw);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
    return url.origin;
  } catch {
    return null;
  }
}

function guarded(method: string, path: string): boolean {
  if (ORIGIN_CHECK_EXEMPT.some((e) => e.method === method && e.path === path)) return false;
  if (path.startsWith(API_PATH_PREFIX)) return false;
  if (UNSAFE_METHODS.has(method)) return true;
  // Every spelling of the stream's path, though routing is exact and only one reaches it.
  // HEAD too: Express serves a HEAD with the GET route.
  return (method === 'GET' || method === 'HEAD') && path.toLowerCase().replace(/\/+$/, '') === STREAM_PATH;
}

/**
 * Why a request must be refused as cross-origin, or null. Guarded are the
 * state-changing methods and the stream. Refused: an `Origin` that is present
 * and is not the service's own (with `publicOrigins`: one of those; without:
 * the request's own scheme and host), and `Sec-Fetch-Site: cross-site` or
 * `same-site`. The second catches what the first cannot: a page on a sibling
 * port or subdomain is "same-site", so the SameSite=Lax cookie goes along, and
 * a browser sends no `Origin` on some requests. Clients that send neither
 * header (curl, the typed client under Node) pass and still need the session
 * and the CSRF token.
 */
export function originRefusal(facts: OriginFacts, publicOrigins: readonly string[] | undefined): string | null {
  if (!guarded(facts.method, facts.path)) return null;
  const site = facts.secFetchSite?.trim().toLowerCase();
  if (site === 'cross-site' || site === 'same-site') return `Cross-origin request refused (Sec-Fetch-Site: ${site})`;
  if (facts.origin === undefined) return null;
  const given = serializeOrigin(facts.origin);
  const own = publicOrigins ?? [serializeOrigin(`${facts.protocol}://${facts.host ?? ''}`)];
  if (given === null || !own.includes(given)) return 'Cross-origin request refused (Origin)';
  return null;
}

/**
 * Global middleware, mounted before body parsing, sessions and routing, so it
 * covers every route (the stream's too) whatever guard authenticates it.
 */
export function originCheck(publicOrigins: readonly string[] | undefined) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const refusal = originRefusal(
      {
        method: req.method,
        path: req.path,
        origin: req.get('origin'),
        secFetchSite: req.get('sec-fetch-site'),
        // Read only when there is an Origin to compare with our own: with "trust proxy" each
        // parses the peer's address, and a same-origin stream open (EventSource) sends none.
        get protocol() {
          return req.protocol;
        },
        get host() {
          return req.host;
        },
      },
      publicOrigins,
    );
    if (refusal === null) return next();
    res.status(403).json({ statusCode: 403, message: refusal });
  };
}
