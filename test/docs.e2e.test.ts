import { GUARDS_METADATA, METHOD_METADATA, PATH_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum.js';
import { ModulesContainer } from '@nestjs/core';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SessionAuthGuard } from '../src/auth/authenticated.decorator.js';
import { StreamAuthGuard } from '../src/notifications/stream-auth.js';
import { ApiKeyGuard } from '../src/api/api-key.guard.js';
import { Client } from './support/http.js';
import { startTestApp, type TestApp } from './support/app.js';

let t: TestApp;
let doc: any;
beforeAll(async () => {
  t = await startTestApp();
  const res = await fetch(`${t.baseUrl}/docs-json`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type') ?? '').toMatch(/^application\/json/);
  doc = await res.json();
});
afterAll(async () => {
  await t.close();
});

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];
/**
 * The docs' own routes, and the inbox page (HTML for people, not API), if it is
 * a route; everything else the app serves must be in the document.
 */
const isDocsRoute = (path: string) =>
  path === '/docs' || path.startsWith('/docs/') || path.startsWith('/docs-') || path === '/';

/** Every (method, path) the Express router serves, Nest's routes and any added by hand. */
function registeredRoutes(): Array<{ method: string; path: string }> {
  const express = t.app.getHttpAdapter().getInstance();
  const routes: Array<{ method: string; path: string }> = [];
  for (const layer of express.router.stack as Array<{
    route?: { path: string | string[]; methods: Record<string, boolean> };
  }>) {
    if (!layer.route) continue;
    const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
    for (const path of paths) {
      for (const [method, on] of Object.entries(layer.route.methods)) {
        if (on && METHODS.includes(method)) routes.push({ method, path: path.replace(/:(\w+)/g, '{$1}') });
      }
    }
  }
  return routes;
}

function operations(): Array<{ method: string; path: string; op: any }> {
  return Object.entries(doc.paths).flatMap(([path, item]: [string, any]) =>
    METHODS.filter((m) => item[m]).map((method) => ({ method, path, op: item[method] })),
  );
}

/** The contract routes that exist on this branch: the enumeration above must find at least these. */
const CONTRACT_ROUTES = [
  'get /auth/csrf',
  'post /auth/register',
  'post /auth/login',
  'post /auth/logout',
  'get /auth/me',
  'get /notifications/stream',
  'get /notifications',
  'get /notifications/unread-count',
  'post /notifications/{id}/read',
  'post /notifications/read-all',
  'post /notifications/seen',
  'post /notifications/bulk',
  'post /notifications/{id}/archive',
  'post /notifications/{id}/unarchive',
  'post /notifications/{id}/snooze',
  'post /notifications/{id}/unsnooze',
  'get /preferences',
  'put /preferences',
  'get /admin/stats',
  'post /orders',
  'get /orders',
  'get /orders/{id}',
  'post /orders/{id}/payments',
  'post /admin/payments/{id}/settle',
  'post /admin/orders/{id}/status',
  'post /admin/broadcasts',
  'get /admin/broadcasts',
  'post /admin/users',
  'get /health',
  'get /metrics',
  'get /push/public-key',
  'post /push/subscriptions',
  'delete /push/subscriptions',
  'get /notifications/{id}/deliveries',
  'get /admin/deliveries',
  'post /unsubscribe',
  'post /admin/api-keys',
  'get /admin/api-keys',
  'delete /admin/api-keys/{id}',
  'post /v1/notifications',
  'put /v1/topics/{key}/subscribers',
  'delete /v1/topics/{key}/subscribers',
  'get /v1/topics/{key}/subscribers',
  'get /topics',
  'delete /topics/{key}',
];

describe('OpenAPI document at /docs-json', () => {
  it('declares the API key of /v1 as a bearer scheme, and /v1 needs it and no CSRF token', () => {
    expect({ ...doc.components.securitySchemes.apiKey, description: undefined }).toStrictEqual({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'nk_…',
      description: undefined,
    });
    expect(doc.paths['/v1/notifications'].post.security).toStrictEqual([{ apiKey: [] }]);
    expect(doc.paths['/v1/notifications'].post.responses['403']).toBeUndefined();
  });

  it('declares the cookie session and the X-CSRF-Token header as security schemes', () => {
    expect(doc.openapi).toMatch(/^3\./);
    expect({ ...doc.components.securitySchemes.session, description: undefined }).toStrictEqual({
      type: 'apiKey',
      in: 'cookie',
      name: 'sid',
      description: undefined,
    });
    expect({ ...doc.components.securitySchemes.csrf, description: undefined }).toStrictEqual({
      type: 'apiKey',
      in: 'header',
      name: 'X-CSRF-Token',
      description: undefined,
    });
  });

  it('documents every route the app serves', () => {
    const routes = registeredRoutes().filter((r) => !isDocsRoute(r.path));
    const found = new Set(routes.map((r) => `${r.method} ${r.path}`));
    for (const route of CONTRACT_ROUTES) expect(found.has(route)).toBeTruthy(); // `the router enumeration finds ${route}`
    const missing = routes
      .filter((r) => !doc.paths[r.path]?.[r.method])
      .map((r) => `${r.method.toUpperCase()} ${r.path}`);
    expect(missing).toStrictEqual([]); // routes served but absent from /docs-json
    const documented = operations().map((o) => `${o.method} ${o.path}`);
    expect(documented.filter((o) => !found.has(o))).toStrictEqual([]); // documented operations the app does not serve
  });

  it('gives every operation a described success answer and JSON error answers', () => {
    for (const { method, path, op } of operations()) {
      const name = `${method.toUpperCase()} ${path}`;
      const success = Object.entries(op.responses).filter(([s]) => /^2\d\d$/.test(s));
      expect([name, success.length > 0]).toStrictEqual([name, true]); // a 2xx answer
      for (const [status, res] of success as Array<[string, any]>) {
        expect([name, status, !!(res.description || res.content || status === '204')]).toStrictEqual([
          name,
          status,
          true,
        ]); // described
      }
      for (const [status, res] of Object.entries(op.responses) as Array<[string, any]>) {
        if (Number(status) >= 400) {
          // The contract's { statusCode, message } unless the route documents its own (health's 503).
          expect([name, status, !!res.content?.['application/json']?.schema]).toStrictEqual([name, status, true]); // a JSON body
        }
      }
    }
  });

  it('requires the session where the handler is @Authenticated, both schemes together on unsafe methods', () => {
    const byId = new Map(operations().map((o) => [o.op.operationId, o]));
    let checked = 0;
    for (const module of t.app.get(ModulesContainer).values()) {
      for (const wrapper of module.controllers.values()) {
        const controller = wrapper.metatype as (new (...args: never[]) => unknown) | null;
        if (!controller || Reflect.getMetadata(PATH_METADATA, controller) === undefined) continue;
        const classGuards: unknown[] = Reflect.getMetadata(GUARDS_METADATA, controller) ?? [];
        for (const key of Object.getOwnPropertyNames(controller.prototype)) {
          const handler = controller.prototype[key];
          if (key === 'constructor' || Reflect.getMetadata(METHOD_METADATA, handler) === undefined) continue;
          const found = byId.get(`${controller.name}_${key}`);
          // documented, with operationId Controller_method
          expect([`${controller.name}_${key}`, !!found]).toStrictEqual([`${controller.name}_${key}`, true]);
          const { method, path, op } = found!;
          const name = `${method.toUpperCase()} ${path}`;
          const guards: unknown[] = [...classGuards, ...(Reflect.getMetadata(GUARDS_METADATA, handler) ?? [])];
          const expected: Record<string, string[]> = {};
          const byKey = guards.includes(ApiKeyGuard);
          if (byKey) expected.apiKey = [];
          if (guards.includes(SessionAuthGuard) || guards.includes(StreamAuthGuard)) expected.session = [];
          if (['post', 'put', 'patch', 'delete'].includes(method) && !byKey) expected.csrf = [];
          expect([name, op.security ?? []]).toStrictEqual([name, Object.keys(expected).length ? [expected] : []]);
          if (expected.session) expect([name, !!op.responses['401']]).toStrictEqual([name, true]); // documents 401
          if (expected.csrf) expect([name, !!op.responses['403']]).toStrictEqual([name, true]); // documents 403

          const args: Record<string, { index: number }> =
            Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, key) ?? {};
          const takesBody = Object.keys(args).some((k) => k.split(':')[0] === String(RouteParamtypes.BODY));
          if (takesBody) {
            const schema = op.requestBody?.content?.['application/json']?.schema;
            expect(schema?.$ref || schema?.properties).toBeTruthy(); // `${name} documents its request body`
            expect(op.responses['400'] && op.responses['413']).toBeTruthy(); // `${name} documents 400 and 413`
          }
          checked++;
        }
      }
    }
    expect(checked >= CONTRACT_ROUTES.length).toBeTruthy(); // `checked ${checked} handlers`
  });

  it('matches behaviour: a route answers 401 to an anonymous caller exactly when it documents the session', async () => {
    const anon = new Client(t.baseUrl);
    await anon.fetchCsrf(); // an anonymous session with a valid token: only the session is missing
    for (const { method, path, op } of operations()) {
      if (path === '/auth/login') continue; // its 401 means "wrong credentials", not "no session"
      const url = path.replace(/\{\w+\}/g, '1');
      const needsSession = (op.security ?? []).some((r: Record<string, unknown>) => 'session' in r || 'apiKey' in r);
      const body = ['post', 'put', 'patch'].includes(method) ? {} : undefined;
      if (path === '/notifications/stream') {
        const res = await fetch(t.baseUrl + url, { headers: { cookie: anon.cookieHeader } });
        expect(res.status).toBe(401); // the stream needs a session
        await res.body?.cancel();
        continue;
      }
      const res = await anon.request(method.toUpperCase(), url, body);
      expect(res.status === 401).toBe(needsSession); // `${method.toUpperCase()} ${path}: ${res.status} ${res.text.slice(0, 80)}`
    }
  });

  it('describes the stream with its media type and event types', () => {
    const op = doc.paths['/notifications/stream'].get;
    expect(op.responses['200'].content['text/event-stream']).toBeTruthy(); // text/event-stream answer
    for (const event of ['ready', 'order', 'payment', 'system', 'read', 'reset', 'ping']) {
      expect(op.responses['200'].description).toMatch(new RegExp(event)); // `mentions ${event}`
    }
    expect(op.responses['429']).toBeTruthy(); // 429 past MAX_STREAMS_PER_USER
    const params = op.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`);
    expect(params.includes('header:Last-Event-ID')).toBeTruthy();
    expect(params.includes('query:channels')).toBeTruthy();
  });

  it('documents bodies with their constraints (register)', () => {
    const ref: string = doc.paths['/auth/register'].post.requestBody.content['application/json'].schema.$ref;
    const schema = doc.components.schemas[ref.split('/').pop()!];
    expect([...schema.required].sort()).toStrictEqual(['email', 'password']);
    expect(schema.properties.password.minLength).toBe(8);
  });
});

describe('Swagger UI at /docs', () => {
  it('serves the page and every asset it loads from the app itself, no CDN', async () => {
    const page = await fetch(`${t.baseUrl}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type') ?? '').toMatch(/text\/html/);
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)=['"]([^'"]+)['"]/g)].map((m) => m[1]);
    expect(assets.some((a) => a.endsWith('swagger-ui-bundle.js'))).toBeTruthy(); // loads the bundle
    expect(assets.some((a) => a.endsWith('swagger-ui-init.js'))).toBeTruthy(); // loads the init script
    for (const asset of assets) {
      expect(asset).not.toMatch(/^(https?:)?\/\//); // `${asset} is local`
      const res = await fetch(new URL(asset, `${t.baseUrl}/docs`));
      expect(res.status).toBe(200); // `${asset} is served`
      await res.arrayBuffer();
    }
    const init = await (await fetch(`${t.baseUrl}/docs/swagger-ui-init.js`)).text();
    expect(init).toMatch(/"validatorUrl": null/); // the online validator is off
    expect(init).toMatch(/"\/notifications\/stream"/); // the document is embedded
  });
});
