import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { freshDatabase, startTestApp, type TestApp } from './support/app.js';
import {
  badge,
  badges,
  clientOf,
  collectErrors,
  eventually,
  fetchFromPage,
  launchChromium,
  listedIds,
  listIs,
  live,
  openInbox as open,
  screenshot,
  serverInbox,
  settled,
  shown,
  shownRead,
  shownTitled,
  signedInInbox,
  signInOnPage,
  WAIT,
  contextsPerTest,
} from './support/browser.js';
import { Client } from './support/http.js';
import { adminClient, placeOrder } from './support/shop.js';

/**
 * The inbox page in real Chromium against the real server, fed by the real
 * product flow: the signed-in user places and pays for orders, an admin
 * settles and ships them, and the page shows each notification as it
 * happens. Also: read state across tabs, a server restart with what was
 * missed arriving after the reconnect, and one stream for all the tabs of a
 * browser (SharedWorker, and the Web Lock + BroadcastChannel fallback). A
 * restart closes the app and starts a new one on the same database and port.
 */

let database: Awaited<ReturnType<typeof freshDatabase>>;
let t: TestApp;
let port: number;
let browser: Browser;
let admin: Client;

beforeAll(async () => {
  database = await freshDatabase();
  t = await startTestApp({}, database);
  port = t.port;
  browser = await launchChromium();
  admin = await adminClient(t);
});
const newContext = contextsPerTest(() => browser);
afterAll(async () => {
  await browser?.close();
  await t?.close();
  await database?.drop();
});

const openInbox = (context: BrowserContext, query = '') => open(context, t.baseUrl, query);

/** Open streams on the server, as the admin sees them; waits until it equals `n`. */
async function streamsBecome(n: number): Promise<void> {
  await eventually(async () => {
    const res = await admin.get('/admin/stats');
    expect(res.status).toBe(200);
    expect(res.body.streams).toBe(n); // `expected ${n} open streams, the server has ${String(res.body.streams)}`
  });
}

/** The page's user places an order from the page (its session cookie and CSRF token). */
async function placeOrderOnPage(page: Page, items: { sku: string; quantity: number; unitPrice: number }[]) {
  const res = await fetchFromPage<{ id: string; total: number }>(page, 'POST', '/orders', { items });
  expect(res.status).toBe(201); // JSON.stringify(res.body)
  return res.body;
}

async function payOnPage(page: Page, order: { id: string; total: number }): Promise<string> {
  const res = await fetchFromPage<{ id: string }>(page, 'POST', `/orders/${order.id}/payments`, {
    amount: order.total,
  });
  expect(res.status).toBe(201); // JSON.stringify(res.body)
  return res.body.id;
}

async function settle(as: Client, paymentId: string, outcome: 'succeeded' | 'failed'): Promise<void> {
  const res = await as.post(`/admin/payments/${paymentId}/settle`, { outcome });
  expect(res.status).toBe(200); // res.text
}

async function setStatus(as: Client, orderId: string, status: 'shipped' | 'delivered' | 'cancelled'): Promise<void> {
  const res = await as.post(`/admin/orders/${orderId}/status`, { status });
  expect(res.status).toBe(200); // res.text
}

const SHIRTS = [
  { sku: 'TEE-INDIGO-M', quantity: 2, unitPrice: 1995 },
  { sku: 'SOCKS-3PK', quantity: 1, unitPrice: 1200 },
];
const MUG = [{ sku: 'MUG-ENAMEL', quantity: 1, unitPrice: 1450 }];

describe('inbox page in Chromium', () => {
  it('signs up, and shows the live notifications of an order the user places and pays and an admin settles and ships, with badges and read state across tabs', async () => {
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
    expect(await a.textContent('#account-name')).toBe('Ada Lovelace');
    await a.waitForSelector('#empty:not([hidden])');
    await badges(a, { order: 0, payment: 0, system: 0 });
    await screenshot(a, 'empty');

    // Ada places an order from the page: POST /orders with the page's session and CSRF token.
    const order = await placeOrderOnPage(a, SHIRTS);
    const placed = await shownTitled(a, `Order #${order.id} placed`);
    await badges(a, { order: 1, payment: 0, system: 0 });
    await a.waitForSelector('#empty', { state: 'hidden' });
    expect(await a.textContent(`.item[data-id="${placed}"] .item-body`)).toBe(
      '2 items, total €51.90. It ships once it is paid.',
    );

    // A second tab of the same browser sees the same inbox.
    const b = await openInbox(context);
    errors.push(...collectErrors(b));
    await live(b);
    await shown(b, placed);
    await badge(b, 'order', 1);

    // Marked read in one tab: the other follows through the stream's `read` event.
    await a.click(`.item[data-id="${placed}"] .item-read`);
    await shownRead(b, placed);
    await badges(b, { order: 0, payment: 0, system: 0 });
    await badge(a, 'total', 0);

    // Ada pays; an admin settles the payment and ships the order. Each step arrives live in both tabs.
    const payment = await payOnPage(b, order);
    for (const tab of [a, b]) {
      await shownTitled(tab, `Payment for order #${order.id} pending`);
      await badges(tab, { order: 0, payment: 1, system: 0 });
    }
    await settle(admin, payment, 'succeeded');
    for (const tab of [a, b]) {
      await shownTitled(tab, `Payment for order #${order.id} succeeded`);
      await shownTitled(tab, `Order #${order.id} paid`);
      await badges(tab, { order: 1, payment: 2, system: 0 });
    }
    await setStatus(admin, order.id, 'shipped');
    for (const tab of [a, b]) {
      await shownTitled(tab, `Order #${order.id} shipped`);
      await badges(tab, { order: 2, payment: 2, system: 0 });
    }
    // Exactly the server's inbox, newest first, each once, with its read state.
    const ada = await clientOf(context, t.baseUrl);
    const inbox = await serverInbox(ada);
    expect(inbox.length).toBe(5);
    for (const tab of [a, b]) await listIs(tab, inbox);

    // "Mark all as read" in one tab empties every badge in both.
    await b.click('#mark-all');
    for (const tab of [a, b]) {
      await badges(tab, { order: 0, payment: 0, system: 0 });
      await listIs(
        tab,
        inbox.map((n) => ({ ...n, unread: false })),
      );
    }
    expect(errors).toStrictEqual([]);
  });

  it('after a server restart, what happened meanwhile (on another instance) arrives in every tab once the page has reconnected', async () => {
    const context = await newContext({ viewport: { width: 1280, height: 820 } });
    expect((await new Client(t.baseUrl).register('grace@example.com', 'password-123', 'Grace Hopper')).status).toBe(
      201,
    );
    const a = await openInbox(context);
    const errors = collectErrors(a);
    await signInOnPage(a, 'grace@example.com');
    const b = await openInbox(context);
    errors.push(...collectErrors(b));
    await live(b);

    const first = await placeOrderOnPage(a, SHIRTS);
    for (const tab of [a, b]) await shownTitled(tab, `Order #${first.id} placed`);
    const firstPayment = await payOnPage(a, first);
    await settle(admin, firstPayment, 'succeeded');
    for (const tab of [a, b]) {
      await shownTitled(tab, `Order #${first.id} paid`);
      await badges(tab, { order: 2, payment: 2, system: 0 });
    }

    // The server goes away. Meanwhile another instance on the same database takes requests:
    // the order ships, Grace (her browser's session) orders a mug and pays, the card is
    // declined, and an admin announces maintenance.
    await t.close();
    for (const tab of [a, b]) await tab.waitForSelector('#connection[data-state="reconnecting"]', { timeout: WAIT });
    await screenshot(a, 'reconnecting');
    const other = await startTestApp({}, database);
    const grace = await clientOf(context, other.baseUrl);
    const adminThere = new Client(other.baseUrl);
    expect((await adminThere.login(other.adminEmail, other.adminPassword)).status).toBe(200);
    await setStatus(adminThere, first.id, 'shipped');
    const mugOrder = await placeOrder(grace, MUG);
    const mugPayment = await grace.post(`/orders/${mugOrder}/payments`, { amount: 1450 });
    expect(mugPayment.status).toBe(201); // mugPayment.text
    await settle(adminThere, mugPayment.body.id, 'failed');
    const broadcast = await adminThere.post('/admin/broadcasts', {
      title: 'Scheduled maintenance tonight',
      body: 'Checkout will be unavailable from 02:00 to 02:30 UTC.',
      severity: 'warning',
    });
    expect(broadcast.status).toBe(201); // broadcast.text
    const missed = await serverInbox(grace);
    await other.close();

    t = await startTestApp({}, database, { port });
    for (const tab of [a, b]) {
      await live(tab);
      await listIs(tab, missed); // newest first, each once: the ones before the restart and the missed ones
      await badges(tab, { order: 4, payment: 4, system: 1 });
    }
    expect((await listedIds(a)).slice(0, 5).map((id) => missed.find((n) => n.id === id)!.title)).toStrictEqual([
      'Scheduled maintenance tonight',
      `Payment for order #${mugOrder} failed`,
      `Payment for order #${mugOrder} pending`,
      `Order #${mugOrder} placed`,
      `Order #${first.id} shipped`,
    ]);

    // The picture for the README: every channel, some read, some not, no fading highlight.
    for (const title of [`Payment for order #${mugOrder} pending`, `Order #${first.id} paid`]) {
      await a.click(`.item[data-id="${missed.find((n) => n.title === title)!.id}"] .item-read`);
    }
    await badges(b, { order: 3, payment: 3, system: 1 });
    await settled(a);
    await screenshot(a, 'inbox');
    expect(errors).toStrictEqual([]);
  });

  it('three tabs share one stream through a SharedWorker; read state and new notifications reach all; closing the first tab loses nothing; signing out reaches all', async () => {
    await streamsBecome(0); // the previous test's browser is gone
    const context = await newContext();
    const first = await openInbox(context);
    const errors = collectErrors(first);
    const shopper = new Client(t.baseUrl);
    await shopper.signUp('katherine@example.com');
    await signInOnPage(first, 'katherine@example.com');
    const tabs = [first, await openInbox(context), await openInbox(context)];
    for (const tab of tabs.slice(1)) errors.push(...collectErrors(tab));
    for (const tab of tabs) {
      await live(tab);
      expect(await tab.getAttribute('body', 'data-share-mode')).toBe('shared-worker');
    }
    await streamsBecome(1);

    const o1 = await placeOrder(shopper);
    const n1 = await shownTitled(tabs[0], `Order #${o1} placed`);
    for (const tab of tabs) {
      await shown(tab, n1);
      await badge(tab, 'order', 1);
    }

    await tabs[1].click(`.item[data-id="${n1}"] .item-read`);
    for (const tab of [tabs[0], tabs[2]]) {
      await shownRead(tab, n1);
      await badge(tab, 'order', 0);
    }

    // The tab that opened the worker goes; the worker and its connection stay for the others.
    await tabs[0].close();
    const o2 = await placeOrder(shopper);
    for (const tab of tabs.slice(1)) {
      await shownTitled(tab, `Order #${o2} placed`);
      await badge(tab, 'order', 1);
    }
    await streamsBecome(1);

    // Signing out in one tab ends the session's stream: the EventSource fails, /auth/me says 401,
    // the connection stays closed, and every tab shows the sign-in form.
    await tabs[1].click('#sign-out');
    await tabs[2].waitForSelector('body[data-view="signed-out"] #auth-notice:not([hidden])', { timeout: WAIT });
    await streamsBecome(0);
    expect(errors).toStrictEqual([]);
  });

  it('without a SharedWorker, tabs elect a leader (Web Lock) that relays over BroadcastChannel; closing the leader hands over without a gap', async () => {
    await streamsBecome(0);
    const context = await newContext();
    const shopper = new Client(t.baseUrl);
    await shopper.signUp('dorothy@example.com');
    const first = await openInbox(context, '?share=leader');
    const errors = collectErrors(first);
    await signInOnPage(first, 'dorothy@example.com');
    const tabs = [first, await openInbox(context, '?share=leader'), await openInbox(context, '?share=leader')];
    for (const tab of tabs.slice(1)) errors.push(...collectErrors(tab));
    for (const tab of tabs) {
      await live(tab);
      expect(await tab.getAttribute('body', 'data-share-mode')).toBe('leader');
    }
    await streamsBecome(1);
    const roles = await Promise.all(tabs.map((tab) => tab.getAttribute('body', 'data-share-role')));
    expect(roles.filter((r) => r === 'leader').length).toStrictEqual(1); // `one leader: ${roles.join(', ')}`
    const leader = tabs[roles.indexOf('leader')];
    const followers = tabs.filter((tab) => tab !== leader);

    const o1 = await placeOrder(shopper);
    const n1 = await shownTitled(leader, `Order #${o1} placed`);
    for (const tab of tabs) await shown(tab, n1);
    await followers[0].click(`.item[data-id="${n1}"] .item-read`);
    for (const tab of [leader, followers[1]]) {
      await shownRead(tab, n1);
      await badge(tab, 'order', 0);
    }

    // The leader goes; orders placed at once, before anyone has taken over: the new leader's replay brings them.
    await leader.close();
    const during = [await placeOrder(shopper), await placeOrder(shopper)];
    for (const tab of followers) {
      const ids = [];
      for (const o of during) ids.push(await shownTitled(tab, `Order #${o} placed`));
      await badge(tab, 'order', 2);
      expect(await listedIds(tab)).toStrictEqual([ids[1], ids[0], n1]);
    }
    const after = await Promise.all(followers.map((tab) => tab.getAttribute('body', 'data-share-role')));
    expect(after.filter((r) => r === 'leader').length).toBe(1); // `a new leader: ${after.join(', ')}`
    await streamsBecome(1);
    expect(errors).toStrictEqual([]);
  });

  it('a signed-out page load logs nothing to the console, not even a 401', async () => {
    expect((await new Client(t.baseUrl).register('quiet@example.com', 'password-123')).status).toBe(201);
    const context = await newContext({ viewport: { width: 1280, height: 820 } });
    const page = await context.newPage();
    const logged: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') logged.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => logged.push(`pageerror: ${e.message}`));
    await page.goto(`${t.baseUrl}/`, { waitUntil: 'networkidle' });
    await page.waitForSelector('body[data-view="signed-out"]');
    expect(logged).toStrictEqual([]);

    // Signed in, then out: a reload is as quiet.
    await signInOnPage(page, 'quiet@example.com');
    await page.click('#sign-out');
    await page.waitForSelector('body[data-view="signed-out"]');
    logged.length = 0;
    await page.reload({ waitUntil: 'networkidle' });
    await page.waitForSelector('body[data-view="signed-out"]');
    expect(logged).toStrictEqual([]);
  });

  it('on a 360-pixel phone, titles that differ only in their last word are shown whole, wrapped, not cut', async () => {
    expect((await new Client(t.baseUrl).register('lin@example.com', 'password-123', 'Lin')).status).toBe(201);
    const context = await newContext({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });
    const { page, errors } = await signedInInbox(context, t.baseUrl, 'lin@example.com');
    const order = await placeOrderOnPage(page, MUG);
    await settle(admin, await payOnPage(page, order), 'succeeded');
    const titles = [`Payment for order #${order.id} pending`, `Payment for order #${order.id} succeeded`];
    const ids = [];
    for (const title of titles) ids.push(await shownTitled(page, title));
    await settled(page);
    await screenshot(page, 'phone-360');
    for (const [i, id] of ids.entries()) {
      const shownText = await page.$eval(`.item[data-id="${id}"] .item-title`, (el) => {
        // The part of the title inside the element's box: what a person can read.
        const box = el.getBoundingClientRect();
        const range = document.createRange();
        range.selectNodeContents(el);
        const rects = Array.from(range.getClientRects());
        const inside = rects.every((r) => r.bottom <= box.bottom + 0.5 && r.right <= box.right + 0.5);
        return { text: (el as HTMLElement).innerText, inside, clipped: el.scrollHeight > el.clientHeight + 0.5 };
      });
      expect(shownText).toStrictEqual({ text: titles[i], inside: true, clipped: false });
    }
    expect(errors).toStrictEqual([]);
  });
});
