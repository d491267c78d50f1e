import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { sharedTestApp } from './support/app.js';
import { Client } from './support/http.js';

/** How the inbox page and the browser client are served (the browser tests use them for real). */

const t = sharedTestApp();

describe('inbox page static files', () => {
  it('GET / is the page, with a strict CSP and no session created', async () => {
    const res = await fetch(`${t.baseUrl}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type') ?? '').toMatch(/^text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    for (const directive of [
      "default-src 'none'",
      "script-src 'self'",
      "connect-src 'self'",
      "worker-src 'self'",
      "frame-ancestors 'none'",
    ]) {
      expect(csp.includes(directive)).toBeTruthy(); // `CSP has ${directive}: ${csp}`
    }
    expect(!/unsafe-inline|unsafe-eval/.test(csp)).toBeTruthy();
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.getSetCookie().length).toBe(0);
    const html = await res.text();
    expect(html).toMatch(/<script type="module" src="\/assets\/inbox.js"><\/script>/);
    expect(!/<script>|<script type="module">|style=/.test(html)).toBeTruthy(); // no inline script or style for the CSP to block
  });

  it('serves the page script, the styles and the client as JavaScript modules', async () => {
    for (const [path, type] of [
      ['/assets/inbox.js', /javascript/],
      ['/assets/inbox.css', /text\/css/],
      ['/assets/icon.svg', /image\/svg\+xml/],
      ['/client/index.js', /javascript/],
      ['/client/shared-worker.js', /javascript/],
      ['/sw.js', /javascript/],
    ] as const) {
      const res = await fetch(t.baseUrl + path);
      expect(res.status).toBe(200); // path
      expect(res.headers.get('content-type') ?? '').toMatch(type); // path
      expect(res.headers.get('content-security-policy')).toBeTruthy(); // `${path} carries the CSP (a worker's own policy comes from its script)`
    }
  });

  it('leaves the API alone and serves nothing outside its folders', async () => {
    const c = new Client(t.baseUrl);
    expect((await c.get('/notifications')).body).toStrictEqual({ statusCode: 401, message: 'Authentication required' });
    expect((await c.get('/auth/csrf')).status).toBe(200);
    for (const path of [
      '/assets/../package.json',
      '/assets/%2e%2e/package.json',
      '/client/../../src/main.ts',
      '/index.html',
      '/assets/missing.js',
    ]) {
      const res = await c.get(path);
      expect(res.status).toBe(404); // path
      expect(res.body.statusCode).toBe(404); // `${path} answers JSON like the API`
    }
    expect((await fetch(`${t.baseUrl}/`, { method: 'POST' })).status).toBe(404);
  });

  it('browser-side modules import only relative paths (no bundler needed)', () => {
    const root = new URL('../dist/', import.meta.url);
    const files = [
      ...readdirSync(new URL('client/', root))
        .filter((f) => f.endsWith('.js') && f !== 'fetch-transport.js' && f !== 'node.js')
        .map((f) => new URL(`client/${f}`, root)),
      new URL('public/inbox.js', root),
      new URL('public/push.js', root),
      new URL('public/delivery.js', root),
    ];
    expect(files.length >= 8).toBeTruthy();
    for (const file of files) {
      const code = readFileSync(file, 'utf8');
      const specifiers = [...code.matchAll(/\b(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);
      for (const s of specifiers) expect(s).toMatch(/^\.\.?\//); // `${file.pathname} imports ${s}`
      expect(!/src\/notifications/.test(specifiers.join())).toBeTruthy(); // server types are type-only imports, erased
    }
  });

  it('serves the service worker at the root (its scope is the whole origin) as a classic script', async () => {
    const res = await fetch(`${t.baseUrl}/sw.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type') ?? '').toMatch(/javascript/);
    expect(res.headers.get('content-security-policy') ?? '').toContain("default-src 'none'");
    expect(res.headers.getSetCookie().length).toBe(0);
    const code = await res.text();
    expect(code).toContain("addEventListener('push'");
    expect(code).toContain("addEventListener('notificationclick'");
    // No module syntax: browsers register it without { type: 'module' }.
    expect(/^\s*(import|export)\b/m.test(code)).toBe(false);
    expect((await fetch(`${t.baseUrl}/sw.js`, { method: 'POST' })).status).toBe(404);
  });
});
