import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Channel, Severity } from '../src/notifications/notification.types.js';
import { NotificationPublisher } from '../src/notifications/notification.publisher.js';
import { freshDatabase, startTestApp, type TestApp } from './support/app.js';
import { collectErrors, launchChromium, screenshot } from './support/browser.js';
import { Client } from './support/http.js';

/**
 * The inbox page in real Chromium against the real server: sign in, live
 * notifications, badges, read state across tabs, a server restart, and one
 * stream for all the tabs of a browser (SharedWorker, and the Web Lock +
 * BroadcastChannel fallback). A restart closes the app and starts a new one
 * on the same database and port.
 */

const WAIT = 30_000; // the page reconnects after its 3 s retry, doubling
let database: Awaited<ReturnType<typeof freshDatabase>>;
let t: TestApp;
let port: number;
let browser: Browser;
let admin: Client;

before(async () => {
  database = await freshDatabase();
  t = await startTestApp({}, database);
  port = t.port;
  browser = await launchChromium();
  admin = new Client(t.baseUrl);
  assert.equal((await admin.login(t.adminEmail, t.adminPassword)).status, 200);
});
const contexts: BrowserContext[] = [];
async function newContext(options?: Parameters<Browser['newContext']>[0]): Promise<BrowserContext> {
  const context = await browser.newContext(options);
  contexts.push(context);
  return context;
}
afterEach(async () => {
  // A failed test must not leave its tabs (and their streams) behind for the next.
  for (const context of contexts.splice(0)) await context.close();
});
after(async () => {
  await browser?.close();
  await t?.close();
  await database?.drop();
});

async function userId(email: string): Promise<string> {
  return (await t.db.query(`SELECT id::text FROM users WHERE email = $1`, [email])).rows[0].id;
}

function publish(app: TestApp, to: string, title: string, options: { channel?: Channel; type?: string; severity?: Severity; body?: string } = {}) {
  const channel = options.channel ?? 'order';
  return app.app.get(NotificationPublisher).send({
    userId: to,
    channel,
    type: options.type ?? 'order.placed',
    severity: options.severity ?? 'info',
    title,
    body: options.body ?? '',
    data: {},
  });
}

async function openInbox(context: BrowserContext, query = ''): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${t.baseUrl}/${query}`);
  return page;
}

async function signInOnPage(page: Page, email: string, password = 'password-123'): Promise<void> {
  await page.waitForSelector('body[data-view="signed-out"]');
  await page.fill('#auth-form [name=email]', email);
  await page.fill('#auth-form [name=password]', password);
  await page.click('#auth-submit');
  await live(page);
}

async function live(page: Page): Promise<void> {
  await page.waitForSelector('body[data-view="signed-in"] #connection[data-state="live"]', { timeout: WAIT });
}

const shown = (page: Page, id: string) => page.waitForSelector(`#list .item[data-id="${id}"]`, { timeout: WAIT });
const shownRead = (page: Page, id: string) => page.waitForSelector(`#list .item[data-id="${id}"]:not(.unread)`, { timeout: WAIT });
async function badge(page: Page, key: Channel | 'total', count: number): Promise<void> {
  try {
    await page.waitForSelector(`[data-badge="${key}"][data-count="${count}"]`, { state: 'attached', timeout: WAIT }); // 0 is hidden
  } catch (err) {
    const actual = await page.getAttribute(`[data-badge="${key}"]`, 'data-count').catch(() => '?');
    throw new Error(`badge ${key}: expected ${count}, shows ${actual}`, { cause: err });
  }
}
const listedIds = (page: Page) => page.$$eval('#list .item', (items) => items.map((li) => (li as HTMLElement).dataset.id!));

/** Open streams on the server, as the admin sees them; waits until it equals `n`. */
async function streamsBecome(n: number): Promise<void> {
  const deadline = Date.now() + WAIT;
  let last: unknown;
  while (Date.now() < deadline) {
    const res = await admin.get('/admin/stats');
    assert.equal(res.status, 200);
    last = res.body.streams;
    if (last === n) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`expected ${n} open streams, the server has ${String(last)}`);
}

describe('inbox page in Chromium', () => {
  it('signs in, shows a live order notification and its badge, syncs read state across tabs, and catches up after a server restart', async () => {
    const context = await newContext({ viewport: { width: 1280, height: 820 } });
    const a = await openInbox(context);
    const errors = collectErrors(a);

    // Create an account on the page, which signs in.
    await a.waitForSelector('body[data-view="signed-out"]');
    await screenshot(a, 'sign-in');
    await a.click('#tab-register');
    await a.fill('#auth-form [name=displayName]', 'Ada Lovelace');
    await a.fill('#auth-form [name=email]', 'ada@example.com');
    await a.fill('#auth-form [name=password]', 'password-123');
    await a.click('#auth-submit');
    await live(a);
    assert.equal(await a.textContent('#account-name'), 'Ada Lovelace');
    await a.waitForSelector('#empty:not([hidden])');
    const ada = await userId('ada@example.com');

    // A live order notification (the source the orders module uses: order.placed on the order channel).
    const placed = await publish(t, ada, 'Order #1001 placed', { body: '2 items, 59.90 EUR. We will let you know when it ships.' });
    await shown(a, placed.id);
    await badge(a, 'order', 1);
    await badge(a, 'total', 1);
    assert.equal(await a.textContent(`.item[data-id="${placed.id}"] .item-title`), 'Order #1001 placed');

    // A second tab of the same browser sees the same inbox.
    const b = await openInbox(context);
    errors.push(...collectErrors(b));
    await live(b);
    await shown(b, placed.id);
    await badge(b, 'order', 1);

    // Marked read in one tab: the other follows through the stream's `read` event.
    await a.click(`.item[data-id="${placed.id}"] .item-read`);
    await shownRead(b, placed.id);
    await badge(b, 'order', 0);
    await badge(a, 'total', 0);

    // The server goes away; what is committed meanwhile arrives after the reconnect.
    await t.close();
    await a.waitForSelector('#connection[data-state="reconnecting"]', { timeout: WAIT });
    await b.waitForSelector('#connection[data-state="reconnecting"]', { timeout: WAIT });
    await screenshot(a, 'reconnecting');
    const writer = await startTestApp({}, database); // another instance, same database
    const missed = [
      await publish(writer, ada, 'Payment of 59.90 EUR received', { channel: 'payment', type: 'payment.succeeded', body: 'Thank you! Your order is being prepared.' }),
      await publish(writer, ada, 'Order #1001 shipped', { type: 'order.shipped', body: 'It is on its way with DHL, tracking 00340434161094042557.' }),
    ];
    await writer.close();
    t = await startTestApp({}, database, { port });
    for (const page of [a, b]) {
      await live(page);
      for (const n of missed) await shown(page, n.id);
      await badge(page, 'payment', 1);
      await badge(page, 'order', 1);
      await badge(page, 'total', 2);
      const ids = await listedIds(page);
      assert.deepEqual(ids, [missed[1].id, missed[0].id, placed.id], 'newest first, each once');
    }

    // A few more for a representative picture of the page.
    await publish(t, ada, 'Scheduled maintenance tonight', {
      channel: 'system',
      type: 'system.broadcast',
      severity: 'warning',
      body: 'Checkout will be unavailable from 02:00 to 02:30 UTC.',
    });
    const last = await publish(t, ada, 'Card payment failed', {
      channel: 'payment',
      type: 'payment.failed',
      severity: 'critical',
      body: 'Your bank declined the payment for order #1002. Please try another card.',
    });
    await shown(a, last.id);
    await badge(a, 'total', 4);
    // The picture without the fading "new" highlight or a hover.
    await a.mouse.move(0, 400);
    await a.waitForFunction(() => document.getAnimations().every((x) => (x as CSSAnimation).animationName !== 'fresh'));
    await screenshot(a, 'inbox');
    assert.deepEqual(errors, []);
  });

  it('three tabs share one stream through a SharedWorker; read state and new notifications reach all; closing the first tab loses nothing; signing out reaches all', async () => {
    await streamsBecome(0); // the previous test's browser is gone
    const context = await newContext();
    const first = await openInbox(context);
    const errors = collectErrors(first);
    await new Client(t.baseUrl).signUp('grace@example.com');
    await signInOnPage(first, 'grace@example.com');
    const grace = await userId('grace@example.com');
    const tabs = [first, await openInbox(context), await openInbox(context)];
    for (const tab of tabs.slice(1)) errors.push(...collectErrors(tab));
    for (const tab of tabs) {
      await live(tab);
      assert.equal(await tab.getAttribute('body', 'data-share-mode'), 'shared-worker');
    }
    await streamsBecome(1);

    const n1 = await publish(t, grace, 'Order #2001 placed');
    for (const tab of tabs) {
      await shown(tab, n1.id);
      await badge(tab, 'order', 1);
    }

    await tabs[1].click(`.item[data-id="${n1.id}"] .item-read`);
    for (const tab of [tabs[0], tabs[2]]) {
      await shownRead(tab, n1.id);
      await badge(tab, 'order', 0);
    }

    // The tab that opened the worker goes; the worker and its connection stay for the others.
    await tabs[0].close();
    const n2 = await publish(t, grace, 'Order #2002 placed');
    for (const tab of tabs.slice(1)) {
      await shown(tab, n2.id);
      await badge(tab, 'order', 1);
    }
    await streamsBecome(1);

    // Signing out in one tab ends the session's stream: the EventSource fails, /auth/me says 401,
    // the connection stays closed, and every tab shows the sign-in form.
    await tabs[1].click('#sign-out');
    await tabs[2].waitForSelector('body[data-view="signed-out"] #auth-notice:not([hidden])', { timeout: WAIT });
    await streamsBecome(0);
    assert.deepEqual(errors, []);
  });

  it('without a SharedWorker, tabs elect a leader (Web Lock) that relays over BroadcastChannel; closing the leader hands over without a gap', async () => {
    await streamsBecome(0);
    const context = await newContext();
    await new Client(t.baseUrl).signUp('hopper@example.com');
    const hopper = await userId('hopper@example.com');
    const first = await openInbox(context, '?share=leader');
    const errors = collectErrors(first);
    await signInOnPage(first, 'hopper@example.com');
    const tabs = [first, await openInbox(context, '?share=leader'), await openInbox(context, '?share=leader')];
    for (const tab of tabs.slice(1)) errors.push(...collectErrors(tab));
    for (const tab of tabs) {
      await live(tab);
      assert.equal(await tab.getAttribute('body', 'data-share-mode'), 'leader');
    }
    await streamsBecome(1);
    const roles = await Promise.all(tabs.map((tab) => tab.getAttribute('body', 'data-share-role')));
    assert.deepEqual(roles.filter((r) => r === 'leader').length, 1, `one leader: ${roles.join(', ')}`);
    const leader = tabs[roles.indexOf('leader')];
    const followers = tabs.filter((tab) => tab !== leader);

    const n1 = await publish(t, hopper, 'Order #3001 placed');
    for (const tab of tabs) await shown(tab, n1.id);
    await followers[0].click(`.item[data-id="${n1.id}"] .item-read`);
    for (const tab of [leader, followers[1]]) {
      await shownRead(tab, n1.id);
      await badge(tab, 'order', 0);
    }

    // The leader goes; published at once, before anyone has taken over: the new leader's replay brings them.
    await leader.close();
    const during = [await publish(t, hopper, 'Order #3002 placed'), await publish(t, hopper, 'Order #3003 placed')];
    for (const tab of followers) {
      for (const n of during) await shown(tab, n.id);
      await badge(tab, 'order', 2);
      assert.deepEqual(await listedIds(tab), [during[1].id, during[0].id, n1.id]);
    }
    const after = await Promise.all(followers.map((tab) => tab.getAttribute('body', 'data-share-role')));
    assert.equal(after.filter((r) => r === 'leader').length, 1, `a new leader: ${after.join(', ')}`);
    await streamsBecome(1);
    assert.deepEqual(errors, []);
  });
});
