import { mkdirSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, expect } from '@jest/globals';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { CHANNELS, type Channel } from '../../client/registry.js';
import { Client } from './http.js';

/** Screenshots and other evidence of the browser tests (gitignored). */
export const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

/**
 * How long any one awaited page state may take. Generous on purpose: on a
 * loaded 2-core machine a reconnect after a restart waits for the page's 3 s
 * retry (doubling), and every wait below returns as soon as the state is there.
 */
export const WAIT = 45_000;

/**
 * A test file's `newContext`: a context of `browser()` with `defaults` under the test's options,
 * closed after the test that opened it, so a failed test leaves no tabs (and their streams) behind.
 */
export function contextsPerTest(
  browser: () => Browser,
  defaults: BrowserContextOptions = {},
): (options?: BrowserContextOptions) => Promise<BrowserContext> {
  const open: BrowserContext[] = [];
  afterEach(async () => {
    for (const context of open.splice(0)) await context.close();
  });
  return async (options) => {
    const context = await browser().newContext({ ...defaults, ...options });
    open.push(context);
    return context;
  };
}

/**
 * Debian's chromium, headless. Throws if it cannot start: in CI that fails
 * the test (scripts/test.mjs only leaves browser tests out where no chromium
 * is installed and CI is not set).
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    timeout: WAIT,
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
      // Tabs that are not in front must keep rendering: the tests watch several at once.
      '--disable-background-timer-throttling',
      '--disable-renderer-backgrounding',
      '--disable-backgrounding-occluded-windows',
    ],
  });
}

/** What `chromiumWith` gives a test file, set once its `beforeAll` has run. */
export interface WithChromium<A> {
  app: A;
  browser: Browser;
  newContext: (options?: BrowserContextOptions) => Promise<BrowserContext>;
}

/**
 * A test file's app (what `start` answers) and one Chromium, started before its tests and both
 * closed after them; `newContext` as `contextsPerTest` with `defaults`.
 */
export function chromiumWith<A extends { close(): Promise<void> }>(
  start: () => Promise<A>,
  defaults: BrowserContextOptions = {},
): WithChromium<A> {
  const suite = {} as WithChromium<A>;
  beforeAll(async () => {
    suite.app = await start();
    suite.browser = await launchChromium();
  });
  suite.newContext = contextsPerTest(() => suite.browser, defaults);
  afterAll(async () => {
    await suite.browser?.close();
    await suite.app?.close();
  });
  return suite;
}

export async function screenshot(page: Page, name: string, options: { fullPage?: boolean } = {}): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, ...options });
  return path;
}

/** Page errors and console errors, to assert the page ran clean. */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // A 400, 401 or 409 is a form's answer that a test provokes (the page shows it), or a session
    // ended under an open page; net::ERR_* is a server restart. A signed-out load logs nothing
    // (inbox.browser tests that without this filter).
    if (m.type() === 'error' && !/status of 40[019]|net::ERR_/.test(m.text())) errors.push(`console: ${m.text()}`);
  });
  return errors;
}

/* ---------- the inbox page, as a person uses it ---------- */

export async function openInbox(context: BrowserContext, baseUrl: string, query = ''): Promise<Page> {
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  await page.goto(`${baseUrl}/${query}`);
  return page;
}

/** The inbox page, signed in as `email` through its form; `errors` collects what the page logs from the start. */
export async function signedInInbox(
  context: BrowserContext,
  baseUrl: string,
  email: string,
): Promise<{ page: Page; errors: string[] }> {
  const page = await openInbox(context, baseUrl);
  const errors = collectErrors(page);
  await signInOnPage(page, email);
  return { page, errors };
}

/** A user registered by HTTP as `email`, then signed in on the inbox page in a new context of `browser`. */
export async function newUserOnPage(
  browser: Browser,
  baseUrl: string,
  email: string,
): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  expect((await new Client(baseUrl).register(email)).status).toBe(201);
  const context = await browser.newContext();
  return { context, ...(await signedInInbox(context, baseUrl, email)) };
}

export async function signInOnPage(page: Page, email: string, password = 'password-123'): Promise<void> {
  await page.waitForSelector('body[data-view="signed-out"]');
  await page.fill('#auth-form [name=email]', email);
  await page.fill('#auth-form [name=password]', password);
  await page.click('#auth-submit');
  await live(page);
}

export async function live(page: Page): Promise<void> {
  await page.waitForSelector('body[data-view="signed-in"] #connection[data-state="live"]', { timeout: WAIT });
}

export const shown = (page: Page, id: string) =>
  page.waitForSelector(`#list .item[data-id="${id}"]`, { timeout: WAIT });
export const shownRead = (page: Page, id: string) =>
  page.waitForSelector(`#list .item[data-id="${id}"]:not(.unread)`, { timeout: WAIT });

/** Waits for the item with exactly this title and returns its notification id. */
export async function shownTitled(page: Page, title: string): Promise<string> {
  const item = page
    .locator('#list .item')
    .filter({ has: page.locator('.item-title', { hasText: new RegExp(`^${escapeRegExp(title)}$`) }) });
  try {
    await item.waitFor({ timeout: WAIT });
  } catch (err) {
    throw new Error(`no item titled "${title}"; the list shows ${JSON.stringify(await listedTitles(page))}`, {
      cause: err,
    });
  }
  return (await item.getAttribute('data-id'))!;
}

export async function badge(page: Page, key: Channel | 'total', count: number): Promise<void> {
  try {
    await page.waitForSelector(`[data-badge="${key}"][data-count="${count}"]`, { state: 'attached', timeout: WAIT }); // 0 is hidden
  } catch (err) {
    const actual = await page.getAttribute(`[data-badge="${key}"]`, 'data-count').catch(() => '?');
    throw new Error(`badge ${key}: expected ${count}, shows ${actual}`, { cause: err });
  }
}

/** Every badge at once: `{ order: 1, payment: 2 }` (a channel not given: 0; the total is their sum). */
export async function badges(page: Page, counts: Partial<Record<Channel, number>>): Promise<void> {
  for (const key of CHANNELS) await badge(page, key, counts[key] ?? 0);
  await badge(
    page,
    'total',
    CHANNELS.reduce((sum, key) => sum + (counts[key] ?? 0), 0),
  );
}

export const listedIds = (page: Page) =>
  page.$$eval('#list .item', (items) => items.map((li) => (li as HTMLElement).dataset.id!));
export const listedTitles = (page: Page) =>
  page.$$eval('#list .item .item-title', (titles) => titles.map((x) => x.textContent));

export interface ListedItem {
  id: string;
  title: string;
  unread: boolean;
}

/**
 * Waits until the page lists exactly these items, in this order (each once),
 * with this read state; says what it shows if it never does.
 */
export async function listIs(page: Page, expected: ListedItem[]): Promise<void> {
  const shows = () =>
    page.$$eval('#list .item', (items) =>
      items.map((li) => ({
        id: (li as HTMLElement).dataset.id!,
        title: li.querySelector('.item-title')!.textContent!,
        unread: li.classList.contains('unread'),
      })),
    );
  try {
    await page.waitForFunction(
      (want) => {
        const items = [...document.querySelectorAll<HTMLElement>('#list .item')];
        return (
          items.length === want.length &&
          items.every(
            (li, i) =>
              li.dataset.id === want[i].id &&
              li.querySelector('.item-title')?.textContent === want[i].title &&
              li.classList.contains('unread') === want[i].unread,
          )
        );
      },
      expected,
      { timeout: WAIT, polling: 100 },
    );
  } catch (err) {
    throw new Error(
      `expected the list ${JSON.stringify(expected)}, it shows ${JSON.stringify(await shows().catch(() => '?'))}`,
      {
        cause: err,
      },
    );
  }
}

/** The user's inbox as the server lists it (newest first), in the shape the page shows. */
export async function serverInbox(user: Client): Promise<ListedItem[]> {
  const res = await user.get('/notifications?limit=100');
  if (res.status !== 200) throw new Error(`GET /notifications: ${res.status} ${res.text}`);
  return res.body.items.map((n: { id: string; title: string; readAt: string | null }) => ({
    id: n.id,
    title: n.title,
    unread: n.readAt === null,
  }));
}

export interface PageAnswer<T = any> {
  status: number;
  body: T;
}

/**
 * A request from inside the page, as the page's own scripts would send it: the
 * browser's session cookie, and the session's CSRF token from GET /auth/csrf.
 */
export async function fetchFromPage<T = any>(
  page: Page,
  method: string,
  path: string,
  body?: unknown,
): Promise<PageAnswer<T>> {
  return page.evaluate(
    async ({ method, path, body }) => {
      const { csrfToken } = await (await fetch('/auth/csrf', { credentials: 'same-origin' })).json();
      const res = await fetch(path, {
        method,
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json', 'x-csrf-token': csrfToken },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
    { method, path, body },
  );
}

/**
 * A Node HTTP client on the browser's session (its `sid` cookie), for acting
 * as the page's user where the page cannot: against another instance, or while
 * its own server is down.
 */
export async function clientOf(context: BrowserContext, baseUrl: string): Promise<Client> {
  const sid = (await context.cookies(baseUrl)).find((c) => c.name === 'sid');
  if (!sid) throw new Error('the browser has no session cookie');
  const client = new Client(baseUrl);
  client.cookies.set('sid', sid.value);
  return client;
}

/** Scrolled to the top, no hover, no "new item" highlight running: for a calm screenshot. */
export async function settled(page: Page): Promise<void> {
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.mouse.move(0, 600);
  await page.waitForFunction(
    () => document.getAnimations().every((x) => (x as CSSAnimation).animationName !== 'fresh'),
    undefined,
    {
      timeout: WAIT,
    },
  );
}

/**
 * Records every message the page's toast shows from now on. A toast hides
 * itself after a few seconds, which a slow machine could miss between two
 * steps of a test; the record cannot be missed.
 */
export async function recordToasts(page: Page): Promise<void> {
  await page.evaluate(() => {
    const box = document.querySelector('#toast')!;
    const seen: string[] = ((window as unknown as { toasts: string[] }).toasts = []);
    new MutationObserver(() => {
      if (!box.hasAttribute('hidden'))
        seen.push(`${box.classList.contains('error') ? 'error: ' : ''}${box.textContent}`);
    }).observe(box, { attributes: true, childList: true, characterData: true, subtree: true });
  });
}

/** Waits until the page has shown this toast (since recordToasts); says what it showed otherwise. */
export async function toasted(page: Page, text: string): Promise<void> {
  try {
    await page.waitForFunction((want) => (window as unknown as { toasts: string[] }).toasts.includes(want), text, {
      timeout: WAIT,
      polling: 100,
    });
  } catch (err) {
    const seen = await page.evaluate(() => (window as unknown as { toasts: string[] }).toasts).catch(() => '?');
    throw new Error(`expected the toast "${text}", the page showed ${JSON.stringify(seen)}`, { cause: err });
  }
}

/** Polls `check` (an assertion) until it passes, or throws its last failure at the deadline. */
export async function eventually<T>(check: () => Promise<T>, timeout = WAIT): Promise<T> {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
