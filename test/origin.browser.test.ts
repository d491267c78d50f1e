import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext } from 'playwright-core';
import { startTestApp, type TestApp } from './support/app.js';
import {
  collectErrors,
  eventually,
  launchChromium,
  openInbox,
  shownTitled,
  signInOnPage,
  WAIT,
} from './support/browser.js';
import { Client } from './support/http.js';
import { adminClient } from './support/shop.js';

/**
 * Finding 8 of issue 13 in real Chromium: a page on a sibling origin (another
 * port of 127.0.0.1: same site, so the SameSite=Lax session cookie goes along)
 * opens `EventSource(…, { withCredentials: true })` to the signed-in service.
 * It must get no stream (403), while the service's own page keeps working.
 * Also: the security headers break neither the inbox page nor /docs.
 */

let t: TestApp;
let browser: Browser;
let context: BrowserContext;
let admin: Client;
let sibling: http.Server;
let siblingUrl: string;

/** The hostile page, served from another port: it opens the stream with the visitor's cookie. */
function siblingPage(streamUrl: string): string {
  return `<!doctype html><meta charset="utf-8"><title>sibling</title>
<script>
  const es = new EventSource(${JSON.stringify(streamUrl)}, { withCredentials: true });
  es.onopen = () => { document.title = 'open'; };
  es.onmessage = () => { document.title = 'message'; };
  es.addEventListener('ready', () => { document.title = 'ready'; });
  es.onerror = () => { document.title = 'error:' + es.readyState; };
</script>`;
}

async function streams(): Promise<number> {
  const res = await admin.get('/admin/stats');
  expect(res.status).toBe(200);
  return res.body.streams as number;
}

beforeAll(async () => {
  t = await startTestApp();
  admin = await adminClient(t);
  sibling = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(siblingPage(`${t.baseUrl}/notifications/stream`));
  });
  await new Promise<void>((resolve) => sibling.listen(0, '127.0.0.1', resolve));
  siblingUrl = `http://127.0.0.1:${(sibling.address() as AddressInfo).port}/`;
  browser = await launchChromium();
  context = await browser.newContext();
});
afterAll(async () => {
  await context?.close();
  await browser?.close();
  await new Promise((resolve) => sibling?.close(resolve));
  await t?.close();
});

describe('origins in Chromium', () => {
  it('a sibling origin gets no signed-in stream (403); the service’s own page keeps its stream', async () => {
    expect((await new Client(t.baseUrl).register('ada@example.com', 'password-123')).status).toBe(201);
    const own = await openInbox(context, t.baseUrl);
    const ownErrors = collectErrors(own);
    await signInOnPage(own, 'ada@example.com');
    await eventually(async () => expect(await streams()).toBe(1));

    // What the service answered each stream request (Chromium reports a CORS-blocked answer as a failed request).
    const seen: Array<{ res: ServerResponse; site: unknown; cookie: boolean; origin: unknown }> = [];
    (t.app.getHttpServer() as Server).on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (!req.url?.startsWith('/notifications/stream')) return;
      const cookie = /(^|; )sid=/.test(req.headers.cookie ?? '');
      seen.push({ res, site: req.headers['sec-fetch-site'], origin: req.headers.origin, cookie });
    });
    const hostile = await context.newPage();
    hostile.setDefaultTimeout(WAIT);
    await hostile.goto(siblingUrl);
    await eventually(async () => expect(seen[0]?.res.headersSent).toBe(true));
    // The attack is real: Chromium sent the session cookie and called it same-site; the service refused it.
    const { res, ...request } = seen[0];
    expect(request).toStrictEqual({ site: 'same-site', origin: siblingUrl.slice(0, -1), cookie: true });
    expect(res.statusCode).toBe(403);
    // EventSource gives up on a non-200 answer: closed, no reconnect, never opened.
    await hostile.waitForFunction(() => document.title === 'error:2');
    expect(await streams()).toBe(1);

    // The own page is still live and still receives.
    const title = 'Still live after the sibling tried';
    expect((await admin.post('/admin/broadcasts', { title, body: 'x' })).status).toBe(201);
    await shownTitled(own, title);
    expect(ownErrors).toStrictEqual([]);
    await hostile.close();
    await own.close();
  });

  it('/docs renders with its security headers and no CSP violation', async () => {
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT);
    const violations: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') violations.push(m.text());
    });
    page.on('pageerror', (e) => violations.push(e.message));
    const res = await page.goto(`${t.baseUrl}/docs`);
    expect(res?.status()).toBe(200);
    const headers = await res!.allHeaders();
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['x-frame-options']).toBe('DENY');
    await page.waitForSelector('.swagger-ui .info .title');
    expect(await page.textContent('.swagger-ui .info .title')).toMatch(/Notifications service/);
    await page.waitForSelector('.opblock-tag[data-tag="notifications"]');
    expect(violations).toStrictEqual([]);
    await page.close();
  });
});
