import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../common/paths.js';
import { SESSION_COOKIE } from '../auth/session.middleware.js';
import { API_KEY_SCHEME } from '../api/api-key.guard.js';

export const DOCS_PATH = 'docs';
export const DOCS_JSON_PATH = '/docs-json';

const UNSAFE_METHODS = new Set(['post', 'put', 'patch', 'delete']);
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

type Operation = {
  requestBody?: unknown;
  parameters?: unknown[];
  security?: Array<Record<string, string[]>>;
  responses: Record<string, { description: string; content?: Record<string, unknown> }>;
};

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

function respond(op: Operation, status: string, description: string): void {
  const existing = op.responses[status];
  if (!existing) op.responses[status] = { description };
  else if (!existing.description.includes(description)) {
    existing.description = existing.description ? `${existing.description}; ${description}` : description;
  }
}

/**
 * What the app does globally is documented globally, here, rather than by a
 * decorator repeated on every handler: the CSRF guard, the validation pipe,
 * the body limits and the one error shape apply to every route, so the
 * document says so for every route.
 *
 * Security is also normalised. `@Authenticated()` cannot know the HTTP method,
 * so it lists both schemes; and OpenAPI reads separate requirement objects as
 * alternatives ("session OR csrf"), while the app needs both together on
 * unsafe methods and only the session on safe ones.
 */
export function describeGlobalBehaviour(document: OpenAPIObject): OpenAPIObject {
  document.components ??= {};
  document.components.schemas ??= {};
  document.components.schemas.Error = {
    type: 'object',
    required: ['statusCode', 'message'],
    properties: { statusCode: { type: 'integer', example: 400 }, message: { type: 'string' } },
  };
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const op = (item as Record<string, Operation | undefined>)[method];
      if (!op) continue;
      const schemes = new Set((op.security ?? []).flatMap((req) => Object.keys(req)));
      // /v1 takes an API key and nothing else: no session, no CSRF token.
      const byKey = schemes.has(API_KEY_SCHEME);
      const unsafe = UNSAFE_METHODS.has(method) && !byKey;
      const requirement: Record<string, string[]> = {};
      if (byKey) requirement[API_KEY_SCHEME] = [];
      if (schemes.has('session')) requirement.session = [];
      if (unsafe) requirement.csrf = [];
      if (Object.keys(requirement).length > 0) op.security = [requirement];
      else delete op.security;

      if (unsafe) respond(op, '403', 'Missing or invalid X-CSRF-Token');
      if (op.requestBody) {
        respond(op, '400', 'Invalid body: unknown fields, wrong types, malformed JSON or U+0000');
        respond(op, '413', path === '/admin/broadcasts' ? 'Body over 1 MB' : 'Body over 64 KB');
      } else if (op.parameters?.length) {
        respond(op, '400', 'Invalid parameter');
      }
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) >= 400 && !response.content) {
          response.content = { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } };
        }
      }
    }
  }
  return document;
}

/**
 * The OpenAPI document at /docs-json and Swagger UI at /docs. The UI's assets
 * come from the swagger-ui-dist package in node_modules (no CDN), and the
 * document is embedded in the page's init script, so the page works offline;
 * the online spec validator is switched off for the same reason.
 */
export function setupOpenApi(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('Notifications service')
    .setDescription(
      'Real-time notifications over Server-Sent Events, stored in PostgreSQL. ' +
        `Sign in with POST /auth/login (cookie \`${SESSION_COOKIE}\`); every POST, PUT, PATCH and DELETE also needs ` +
        'the X-CSRF-Token header (GET /auth/csrf, or the login answer). Errors are `{ statusCode, message }`.',
    )
    .setVersion(version())
    .addCookieAuth(
      SESSION_COOKIE,
      { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE, description: 'Session cookie set by POST /auth/login' },
      'session',
    )
    .addApiKey(
      { type: 'apiKey', in: 'header', name: 'X-CSRF-Token', description: 'From GET /auth/csrf or the login answer' },
      'csrf',
    )
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'nk_…',
        description:
          'An API key from POST /admin/api-keys, for /v1 only: `Authorization: Bearer nk_…`, no cookie, no CSRF token',
      },
      API_KEY_SCHEME,
    )
    .addTag('auth', 'Sign-up, sign-in, sessions and CSRF tokens')
    .addTag('notifications', 'The live stream, the inbox and preferences')
    .addTag('admin', 'Admin-only routes')
    .addTag('operations', 'Health and metrics')
    .addTag('api', 'For other services, with an API key: publish notifications, manage topics')
    .build();
  SwaggerModule.setup(DOCS_PATH, app, () => describeGlobalBehaviour(SwaggerModule.createDocument(app, config)), {
    jsonDocumentUrl: DOCS_JSON_PATH,
    raw: ['json'],
    customSiteTitle: 'Notifications service API',
    swaggerOptions: { validatorUrl: null, persistAuthorization: true, withCredentials: true },
  });
}
