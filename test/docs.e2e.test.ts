import { GUARDS_METADATA, METHOD_METADATA, PATH_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum.js';
import { ModulesContainer } from '@nestjs/core';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SessionAuthGuard } from '../src/auth/authenticated.decorator.js';
import { Client } from './support/http.js';
import { startTestApp, type TestApp } from './support/app.js';

let t: TestApp;
let doc: any;
before(async () => {
  t = await startTestApp();
  const res = await fetch(`${t.baseUrl}/docs-json`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  doc = await res.json();
});
after(async () => {
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
];

describe('OpenAPI document at /docs-json', () => {
  it('declares the cookie session and the X-CSRF-Token header as security schemes', () => {
    assert.match(doc.openapi, /^3\./);
    assert.deepEqual(
      { ...doc.components.securitySchemes.session, description: undefined },
      { type: 'apiKey', in: 'cookie', name: 'sid', description: undefined },
    );
    assert.deepEqual(
      { ...doc.components.securitySchemes.csrf, description: undefined },
      { type: 'apiKey', in: 'header', name: 'X-CSRF-Token', description: undefined },
    );
  });

  it('documents every route the app serves', () => {
    const routes = registeredRoutes().filter((r) => !isDocsRoute(r.path));
    const found = new Set(routes.map((r) => `${r.method} ${r.path}`));
    for (const route of CONTRACT_ROUTES) assert.ok(found.has(route), `the router enumeration finds ${route}`);
    const missing = routes
      .filter((r) => !doc.paths[r.path]?.[r.method])
      .map((r) => `${r.method.toUpperCase()} ${r.path}`);
    assert.deepEqual(missing, [], 'routes served but absent from /docs-json');
    const documented = operations().map((o) => `${o.method} ${o.path}`);
    assert.deepEqual(
      documented.filter((o) => !found.has(o)),
      [],
      'documented operations the app does not serve',
    );
  });

  it('gives every operation a described success answer and JSON error answers', () => {
    for (const { method, path, op } of operations()) {
      const name = `${method.toUpperCase()} ${path}`;
      const success = Object.entries(op.responses).filter(([s]) => /^2\d\d$/.test(s));
      assert.ok(success.length > 0, `${name} has a 2xx answer`);
      for (const [status, res] of success as Array<[string, any]>) {
        assert.ok(res.description || res.content || status === '204', `${name} ${status} is described`);
      }
      for (const [status, res] of Object.entries(op.responses) as Array<[string, any]>) {
        if (Number(status) >= 400) {
          // The contract's { statusCode, message } unless the route documents its own (health's 503).
          assert.ok(res.content?.['application/json']?.schema, `${name} ${status} has a JSON body`);
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
          assert.ok(found, `${controller.name}.${key} is documented (operationId ${controller.name}_${key})`);
          const { method, path, op } = found;
          const name = `${method.toUpperCase()} ${path}`;
          const guards: unknown[] = [...classGuards, ...(Reflect.getMetadata(GUARDS_METADATA, handler) ?? [])];
          const expected: Record<string, string[]> = {};
          if (guards.includes(SessionAuthGuard)) expected.session = [];
          if (['post', 'put', 'patch', 'delete'].includes(method)) expected.csrf = [];
          assert.deepEqual(op.security ?? [], Object.keys(expected).length ? [expected] : [], `${name} security`);
          if (expected.session) assert.ok(op.responses['401'], `${name} documents 401`);
          if (expected.csrf) assert.ok(op.responses['403'], `${name} documents 403`);

          const args: Record<string, { index: number }> =
            Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, key) ?? {};
          const takesBody = Object.keys(args).some((k) => k.split(':')[0] === String(RouteParamtypes.BODY));
          if (takesBody) {
            const schema = op.requestBody?.content?.['application/json']?.schema;
            assert.ok(schema?.$ref || schema?.properties, `${name} documents its request body`);
            assert.ok(op.responses['400'] && op.responses['413'], `${name} documents 400 and 413`);
          }
          checked++;
        }
      }
    }
    assert.ok(checked >= CONTRACT_ROUTES.length, `checked ${checked} handlers`);
  });

  it('matches behaviour: a route answers 401 to an anonymous caller exactly when it documents the session', async () => {
    const anon = new Client(t.baseUrl);
    await anon.fetchCsrf(); // an anonymous session with a valid token: only the session is missing
    for (const { method, path, op } of operations()) {
      if (path === '/auth/login') continue; // its 401 means "wrong credentials", not "no session"
      const url = path.replace(/\{\w+\}/g, '1');
      const needsSession = (op.security ?? []).some((r: Record<string, unknown>) => 'session' in r);
      const body = ['post', 'put', 'patch'].includes(method) ? {} : undefined;
      if (path === '/notifications/stream') {
        const res = await fetch(t.baseUrl + url, { headers: { cookie: anon.cookieHeader } });
        assert.equal(res.status, 401, 'the stream needs a session');
        await res.body?.cancel();
        continue;
      }
      const res = await anon.request(method.toUpperCase(), url, body);
      assert.equal(
        res.status === 401,
        needsSession,
        `${method.toUpperCase()} ${path}: ${res.status} ${res.text.slice(0, 80)}`,
      );
    }
  });

  it('describes the stream with its media type and event types', () => {
    const op = doc.paths['/notifications/stream'].get;
    assert.ok(op.responses['200'].content['text/event-stream'], 'text/event-stream answer');
    for (const event of ['ready', 'order', 'payment', 'system', 'read', 'reset', 'ping']) {
      assert.match(op.responses['200'].description, new RegExp(event), `mentions ${event}`);
    }
    assert.ok(op.responses['429'], '429 past MAX_STREAMS_PER_USER');
    const params = op.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`);
    assert.ok(params.includes('header:Last-Event-ID'));
    assert.ok(params.includes('query:channels'));
  });

  it('documents bodies with their constraints (register)', () => {
    const ref: string = doc.paths['/auth/register'].post.requestBody.content['application/json'].schema.$ref;
    const schema = doc.components.schemas[ref.split('/').pop()!];
    assert.deepEqual([...schema.required].sort(), ['email', 'password']);
    assert.equal(schema.properties.password.minLength, 8);
  });
});

describe('Swagger UI at /docs', () => {
  it('serves the page and every asset it loads from the app itself, no CDN', async () => {
    const page = await fetch(`${t.baseUrl}/docs`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)=['"]([^'"]+)['"]/g)].map((m) => m[1]);
    assert.ok(
      assets.some((a) => a.endsWith('swagger-ui-bundle.js')),
      'loads the bundle',
    );
    assert.ok(
      assets.some((a) => a.endsWith('swagger-ui-init.js')),
      'loads the init script',
    );
    for (const asset of assets) {
      assert.doesNotMatch(asset, /^(https?:)?\/\//, `${asset} is local`);
      const res = await fetch(new URL(asset, `${t.baseUrl}/docs`));
      assert.equal(res.status, 200, `${asset} is served`);
      await res.arrayBuffer();
    }
    const init = await (await fetch(`${t.baseUrl}/docs/swagger-ui-init.js`)).text();
    assert.match(init, /"validatorUrl": null/, 'the online validator is off');
    assert.match(init, /"\/notifications\/stream"/, 'the document is embedded');
  });
});
