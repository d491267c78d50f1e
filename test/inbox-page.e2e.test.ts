import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from './support/app.js';
import { Client } from './support/http.js';

/** How the inbox page and the browser client are served (the browser tests use them for real). */

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(async () => {
  await t.close();
});

describe('inbox page static files', () => {
  it('GET / is the page, with a strict CSP and no session created', async () => {
    const res = await fetch(`${t.baseUrl}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    for (const directive of [
      "default-src 'none'",
      "script-src 'self'",
      "connect-src 'self'",
      "worker-src 'self'",
      "frame-ancestors 'none'",
    ]) {
      assert.ok(csp.includes(directive), `CSP has ${directive}: ${csp}`);
    }
    assert.ok(!/unsafe-inline|unsafe-eval/.test(csp));
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.getSetCookie().length, 0);
    const html = await res.text();
    assert.match(html, /<script type="module" src="\/assets\/inbox.js"><\/script>/);
    assert.ok(!/<script>|<script type="module">|style=/.test(html), 'no inline script or style for the CSP to block');
  });

  it('serves the page script, the styles and the client as JavaScript modules', async () => {
    for (const [path, type] of [
      ['/assets/inbox.js', /javascript/],
      ['/assets/inbox.css', /text\/css/],
      ['/assets/icon.svg', /image\/svg\+xml/],
      ['/client/index.js', /javascript/],
      ['/client/shared-worker.js', /javascript/],
    ] as const) {
      const res = await fetch(t.baseUrl + path);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-type') ?? '', type, path);
      assert.ok(
        res.headers.get('content-security-policy'),
        `${path} carries the CSP (a worker's own policy comes from its script)`,
      );
    }
  });

  it('leaves the API alone and serves nothing outside its folders', async () => {
    const c = new Client(t.baseUrl);
    assert.deepEqual((await c.get('/notifications')).body, { statusCode: 401, message: 'Authentication required' });
    assert.equal((await c.get('/auth/csrf')).status, 200);
    for (const path of [
      '/assets/../package.json',
      '/assets/%2e%2e/package.json',
      '/client/../../src/main.ts',
      '/index.html',
      '/assets/missing.js',
    ]) {
      const res = await c.get(path);
      assert.equal(res.status, 404, path);
      assert.equal(res.body.statusCode, 404, `${path} answers JSON like the API`);
    }
    assert.equal((await fetch(`${t.baseUrl}/`, { method: 'POST' })).status, 404);
  });

  it('browser-side modules import only relative paths (no bundler needed)', () => {
    const root = new URL('../', import.meta.url); // dist/
    const files = [
      ...readdirSync(new URL('client/', root))
        .filter((f) => f.endsWith('.js') && f !== 'fetch-transport.js' && f !== 'node.js')
        .map((f) => new URL(`client/${f}`, root)),
      new URL('public/inbox.js', root),
    ];
    assert.ok(files.length >= 8);
    for (const file of files) {
      const code = readFileSync(file, 'utf8');
      const specifiers = [...code.matchAll(/\b(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);
      for (const s of specifiers) assert.match(s, /^\.\.?\//, `${file.pathname} imports ${s}`);
      assert.ok(!/src\/notifications/.test(specifiers.join()), 'server types are type-only imports, erased');
    }
  });
});
