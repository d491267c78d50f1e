import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type CDPSession, type Page } from 'playwright-core';
import { startTestApp, type TestApp } from './support/app.js';
import {
  collectErrors,
  eventually,
  fetchFromPage,
  launchChromium,
  openInbox as open,
  recordToasts,
  screenshot,
  settled,
  signInOnPage,
  toasted,
  WAIT,
  contextsPerTest,
} from './support/browser.js';
import { Client } from './support/http.js';
import { adminClient } from './support/shop.js';
import { TestPushService } from './support/push-service.js';
import { DEFAULT_CHANNELS, DEFAULT_DELIVERY } from './support/registry.js';
import { loadConfig } from '../src/config/env.js';

/**
 * The inbox page's half of Web Push, in real Chromium against the real server:
 * the page registers its service worker (/sw.js, root scope); a push message,
 * delivered to that worker through the DevTools protocol (the subscription
 * itself needs Google's push service, which this machine cannot reach), becomes
 * a system notification with the notification's title and body; a click on it
 * brings the inbox to the front or opens it. Also the delivery preferences form
 * and the enable control's failure path.
 */

let t: TestApp;
let browser: Browser;
let admin: Client;
let pushService: TestPushService;
const ESCALATE_AFTER_MS = 1500;

beforeAll(async () => {
  // The server's pushes go to a push service of the tests' own (VAPID checked, payload
  // decrypted): the one hop a test cannot make is from a real push service to Chromium.
  const vapid = loadConfig({ NODE_ENV: 'test', DATA_DIR: `/tmp/notif-vapid-ui-${process.pid}` }).delivery.vapid;
  pushService = new TestPushService(vapid.publicKey);
  await pushService.start();
  t = await startTestApp({
    ESCALATE_AFTER_MS: String(ESCALATE_AFTER_MS),
    VAPID_PUBLIC_KEY: vapid.publicKey,
    VAPID_PRIVATE_KEY: vapid.privateKey,
    VAPID_SUBJECT: 'mailto:ops@shop.example',
    PUSH_ENDPOINT_ALLOWLIST: pushService.origin,
  });
  browser = await launchChromium();
  admin = await adminClient(t);
});
const newContext = contextsPerTest(() => browser);
const profiles: string[] = [];
/** Contexts on a profile of their own (launchPersistentContext), closed before their profile goes. */
const persistent: BrowserContext[] = [];
afterEach(async () => {
  for (const context of persistent.splice(0)) await context.close();
});
afterAll(async () => {
  for (const profile of profiles) rmSync(profile, { recursive: true, force: true });
  await browser?.close();
  await t?.close();
  await pushService?.close();
});

const openInbox = (context: BrowserContext) => open(context, t.baseUrl);

/** A new account, signed in on a new page of this context. */
async function signedIn(context: BrowserContext, email: string): Promise<Page> {
  expect((await new Client(t.baseUrl).register(email)).status).toBe(201);
  const page = await openInbox(context);
  await signInOnPage(page, email);
  return page;
}

/** The page's service worker registration, once active: its scope and script. */
async function workerOf(page: Page): Promise<{ scope: string; script: string | undefined }> {
  return page.evaluate(async () => {
    const registration = await navigator.serviceWorker.ready;
    return { scope: registration.scope, script: registration.active?.scriptURL };
  });
}

/**
 * The DevTools protocol's view of the context's service worker registrations
 * (ServiceWorker.enable reports them as events), to address a push to one.
 */
async function registrationId(cdp: CDPSession, scope: string): Promise<string> {
  const seen = new Map<string, { scopeURL: string; isDeleted: boolean }>();
  cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations }) => {
    for (const r of registrations) seen.set(r.registrationId, r);
  });
  await cdp.send('ServiceWorker.enable');
  return eventually(async () => {
    const found = [...seen].find(([, r]) => r.scopeURL === scope && !r.isDeleted);
    expect(found).toBeDefined();
    return found![0];
  });
}

/** The system notifications the page's service worker shows now. */
function shownNotifications(page: Page) {
  return page.evaluate(async () => {
    const registration = await navigator.serviceWorker.ready;
    return (await registration.getNotifications()).map((n) => ({
      title: n.title,
      body: n.body,
      tag: n.tag,
      icon: n.icon,
      data: n.data as unknown,
    }));
  });
}

/**
 * A click on a system notification, as far as a test can make one. The
 * DevTools protocol can deliver a push but cannot click what it shows, so this
 * dispatches `notificationclick` in the worker (through Playwright's handle on
 * it), carrying the real notification the worker showed; the worker's own
 * listener handles it. Chromium lets a worker focus or open a window only
 * during a click the user made, so the calls are recorded and then refused:
 * what is asserted is what the worker asked for (which tab to focus, which URL
 * to open) and what it told the page.
 */
async function clickNotification(context: BrowserContext, tag: string, action = '') {
  const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker', { timeout: WAIT }));
  return worker.evaluate(
    async ([tag, action]) => {
      const scope = self as any;
      const asked: string[] = [];
      const { clients } = scope;
      const openWindow = clients.openWindow.bind(clients);
      clients.openWindow = (url: string) => {
        asked.push(`open ${url}`);
        return openWindow(url);
      };
      const focus = scope.WindowClient.prototype.focus;
      scope.WindowClient.prototype.focus = function (this: { url: string }) {
        asked.push(`focus ${this.url}`);
        return focus.call(this);
      };
      const [notification] = await scope.registration.getNotifications({ tag });
      if (!notification) throw new Error(`no notification tagged ${tag}`);
      const event = new scope.NotificationEvent('notificationclick', { notification, action });
      // A synthetic event may not extend its lifetime; collect what the listener waits for.
      const pending: Promise<unknown>[] = [];
      Object.defineProperty(event, 'waitUntil', { value: (p: Promise<unknown>) => pending.push(p) });
      scope.dispatchEvent(event);
      const outcome = await Promise.allSettled(pending);
      clients.openWindow = openWindow;
      scope.WindowClient.prototype.focus = focus;
      const left = await scope.registration.getNotifications({ tag });
      return {
        asked,
        refused: outcome.map((o) => (o.status === 'rejected' ? String(o.reason) : 'done')),
        stillShown: left.length,
      };
    },
    [tag, action] as const,
  );
}

/** A real notification of this user: they place an order; the newest item of their inbox. */
async function orderNotification(page: Page): Promise<Record<string, any>> {
  const order = await fetchFromPage(page, 'POST', '/orders', {
    items: [{ sku: 'TEE-INDIGO-M', quantity: 1, unitPrice: 1995 }],
  });
  expect(order.status).toBe(201);
  const inbox = await fetchFromPage(page, 'GET', '/notifications?limit=1');
  expect(inbox.body.items[0].type).toBe('order.placed');
  return inbox.body.items[0];
}

describe('browser notifications in Chromium', () => {
  it('the page registers its service worker at the root; a push shows the notification as a system notification; a click brings the inbox tab forward', async () => {
    const context = await newContext({ viewport: { width: 1280, height: 900 } });
    await context.grantPermissions(['notifications'], { origin: t.baseUrl });
    const page = await signedIn(context, 'push-shown@example.com');
    const errors = collectErrors(page);

    expect(await workerOf(page)).toStrictEqual({ scope: `${t.baseUrl}/`, script: `${t.baseUrl}/sw.js` });
    // Permission granted, no subscription yet: the control offers to enable.
    await page.waitForSelector('#push-panel[data-push="off"] #push-toggle:has-text("Enable browser notifications")');

    const notification = await orderNotification(page);
    const cdp = await context.newCDPSession(page);
    await cdp.send('ServiceWorker.deliverPushMessage', {
      origin: t.baseUrl,
      registrationId: await registrationId(cdp, `${t.baseUrl}/`),
      data: JSON.stringify(notification),
    });
    const shown = await eventually(async () => {
      const list = await shownNotifications(page);
      expect(list.length).toBe(1);
      return list[0];
    });
    expect(shown).toStrictEqual({
      title: notification.title,
      body: notification.body,
      tag: notification.id,
      icon: `${t.baseUrl}/assets/icon.svg`,
      data: { url: `${t.baseUrl}/`, id: notification.id, channel: 'order' },
    });

    // The inbox is open in this tab: the click focuses it (and tells it which notification).
    const click = await clickNotification(context, notification.id);
    expect(click.asked).toStrictEqual([`focus ${t.baseUrl}/`]);
    expect(click.refused).toStrictEqual(['InvalidAccessError: Not allowed to focus a window.']);
    expect(click.stillShown).toBe(0); // the click closed it
    await page.waitForFunction((id) => document.body.dataset.clickedNotification === id, notification.id);
    expect(errors).toStrictEqual([]);
  });

  it('a button of a system notification pressed with the inbox open: the inbox offers the action to confirm, then records it', async () => {
    const context = await newContext({ viewport: { width: 1280, height: 900 } });
    await context.grantPermissions(['notifications'], { origin: t.baseUrl });
    const page = await signedIn(context, 'push-action@example.com');
    const errors = collectErrors(page);
    await workerOf(page);
    const me = await fetchFromPage(page, 'GET', '/auth/me');
    const sent = await admin.post('/admin/broadcasts', {
      title: 'Returns policy update',
      body: 'The new returns policy starts on Monday.',
      audience: { userIds: [me.body.id] },
      actions: [{ id: 'later', label: 'Remind me later', style: 'secondary' }],
    });
    expect(sent.status).toBe(201);
    const notification = (await fetchFromPage(page, 'GET', '/notifications?limit=1')).body.items[0];
    expect(notification.id).toBe(sent.body.id);
    const cdp = await context.newCDPSession(page);
    await cdp.send('ServiceWorker.deliverPushMessage', {
      origin: t.baseUrl,
      registrationId: await registrationId(cdp, `${t.baseUrl}/`),
      data: JSON.stringify(notification),
    });
    await eventually(async () => expect(await shownNotifications(page)).toHaveLength(1));

    const click = await clickNotification(context, notification.id, 'later');
    expect(click.asked).toStrictEqual([`focus ${t.baseUrl}/`]);
    await page.waitForSelector('#press:not([hidden])');
    expect(await page.textContent('#press-confirm')).toBe('Remind me later');
    const presses = () =>
      t.db
        .query(`SELECT action_id FROM notification_action_presses WHERE notification_id = $1`, [notification.id])
        .then((r) => r.rows.map((row: { action_id: string }) => row.action_id));
    expect(await presses()).toStrictEqual([]);
    await page.click('#press-confirm');
    await eventually(async () => expect(await presses()).toStrictEqual(['later']));
    expect(errors).toStrictEqual([]);
  });

  it('with no inbox tab open, a push wakes the worker and a click opens the inbox; an unreadable payload still shows a notification', async () => {
    const context = await newContext();
    await context.grantPermissions(['notifications'], { origin: t.baseUrl });
    const page = await signedIn(context, 'push-closed@example.com');
    await workerOf(page);
    const notification = await orderNotification(page);
    // Leave the inbox: this origin's only window is now another page (not an inbox to focus).
    await page.goto(`${t.baseUrl}/health`);
    const cdp = await context.newCDPSession(page);
    const registration = await registrationId(cdp, `${t.baseUrl}/`);
    await cdp.send('ServiceWorker.stopAllWorkers');

    await cdp.send('ServiceWorker.deliverPushMessage', {
      origin: t.baseUrl,
      registrationId: registration,
      data: JSON.stringify({ ...notification, severity: 'critical' }),
    });
    const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker'));
    const shown = await eventually(async () => {
      const list = (await worker.evaluate(async () =>
        (await (self as any).registration.getNotifications()).map((n: any) => ({
          title: n.title,
          body: n.body,
          tag: n.tag,
          requireInteraction: n.requireInteraction,
        })),
      )) as unknown[];
      expect(list.length).toBe(1);
      return list[0];
    });
    // Critical: it stays on screen until the user acts.
    expect(shown).toStrictEqual({
      title: notification.title,
      body: notification.body,
      tag: notification.id,
      requireInteraction: true,
    });

    const click = await clickNotification(context, notification.id);
    expect(click.asked).toStrictEqual([`open ${t.baseUrl}/`]);
    expect(click.refused).toStrictEqual(['InvalidAccessError: Not allowed to open a window.']);

    // `userVisibleOnly` promises a notification for every push, even one the worker cannot read.
    await cdp.send('ServiceWorker.deliverPushMessage', {
      origin: t.baseUrl,
      registrationId: registration,
      data: 'not json',
    });
    await eventually(async () => {
      const titles = await worker.evaluate(async () =>
        (await (self as any).registration.getNotifications()).map((n: any) => `${n.title}: ${n.body}`),
      );
      expect(titles).toStrictEqual(['New notification: not json']);
    });
  });

  it('end to end: the order ships while the user has no tab open; the server’s push, decrypted, becomes the system notification', async () => {
    const context = await newContext();
    await context.grantPermissions(['notifications'], { origin: t.baseUrl });
    const page = await signedIn(context, 'push-e2e@example.com');
    await workerOf(page);
    // This browser's subscription, as the service stores it. Chromium's own would point at
    // Google's push service; this one points at the tests' service, which holds its private key.
    const subscription = pushService.subscription();
    const registered = await fetchFromPage(page, 'POST', '/push/subscriptions', {
      endpoint: subscription.endpoint,
      keys: subscription.keys,
    });
    expect(registered.status).toBe(201);

    // Ordered and paid while watching the page: streamed, so never pushed.
    const order = await fetchFromPage(page, 'POST', '/orders', {
      items: [{ sku: 'MUG-ENAMEL', quantity: 1, unitPrice: 1450 }],
    });
    expect(order.status).toBe(201);
    const payment = await fetchFromPage(page, 'POST', `/orders/${order.body.id}/payments`, {
      amount: order.body.total,
    });
    expect(payment.status).toBe(201);
    expect((await admin.post(`/admin/payments/${payment.body.id}/settle`, { outcome: 'succeeded' })).status).toBe(200);
    await page.waitForSelector('#list .item[data-type="order.paid"]');

    // The user leaves: no tab, no stream (the shared worker's stream closes with the last tab).
    await page.goto(`${t.baseUrl}/health`);
    await eventually(async () => expect((await admin.get('/admin/stats')).body.streams).toBe(0));
    const shippedAt = Date.now();
    expect((await admin.post(`/admin/orders/${order.body.id}/status`, { status: 'shipped' })).status).toBe(200);
    const [pushed] = await pushService.waitFor(1, (p) => p.endpoint === subscription.endpoint);
    const tookMs = Date.now() - shippedAt;
    expect(pushService.accepted(subscription.endpoint).map((p) => p.payload.type)).toStrictEqual(['order.shipped']);
    expect(tookMs).toBeGreaterThanOrEqual(ESCALATE_AFTER_MS);
    console.log(`order shipped -> push at the push service: ${tookMs} ms (ESCALATE_AFTER_MS ${ESCALATE_AFTER_MS})`);

    // What the push service would hand to the browser, handed to the worker through CDP. The
    // worker is woken first: with no tab left Chromium may have stopped it, and a push handed to
    // a worker that is still starting was seen to be dropped (once in a CI run).
    const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker'));
    await worker.evaluate(() => (self as any).registration.active?.state);
    const cdp = await context.newCDPSession(page);
    await cdp.send('ServiceWorker.deliverPushMessage', {
      origin: t.baseUrl,
      registrationId: await registrationId(cdp, `${t.baseUrl}/`),
      data: JSON.stringify(pushed.payload),
    });
    await eventually(async () => {
      const shown = await worker.evaluate(async () =>
        (await (self as any).registration.getNotifications()).map((n: any) => ({
          title: n.title,
          body: n.body,
          tag: n.tag,
        })),
      );
      expect(shown).toStrictEqual([{ title: pushed.payload.title, body: pushed.payload.body, tag: pushed.payload.id }]);
    });
    expect(pushed.payload.title).toMatch(/^Order #\d+ shipped$/);
    const click = await clickNotification(context, String(pushed.payload.id));
    expect(click.asked).toStrictEqual([`open ${t.baseUrl}/`]);
  });

  it('shows "blocked", with no button, where the notification permission was denied', async () => {
    const context = await newContext();
    const page = await openInbox(context);
    // Playwright only grants; the DevTools protocol can deny, for this context's origin.
    const cdp = await context.newCDPSession(page);
    const { targetInfo } = await cdp.send('Target.getTargetInfo');
    await cdp.send('Browser.setPermission', {
      permission: { name: 'notifications' },
      setting: 'denied',
      origin: t.baseUrl,
      browserContextId: targetInfo.browserContextId,
    });
    expect((await new Client(t.baseUrl).register('push-blocked@example.com')).status).toBe(201);
    await page.reload();
    expect(await page.evaluate(() => Notification.permission)).toBe('denied');
    await signInOnPage(page, 'push-blocked@example.com');
    await page.waitForSelector('#push-panel[data-push="blocked"]');
    expect(await page.isHidden('#push-toggle')).toBe(true);
    expect(await page.textContent('#push-status')).toContain('blocked');
  });

  it('enabling fails gracefully where the browser refuses to subscribe: the error is shown, the state stays off, nothing is stored', async () => {
    // Playwright's contexts are off the record, where Chromium refuses push outright.
    const context = await newContext();
    await context.grantPermissions(['notifications'], { origin: t.baseUrl });
    const page = await signedIn(context, 'push-fails@example.com');
    await recordToasts(page);
    await page.waitForSelector('#push-panel[data-push="off"]');
    await page.click('#push-toggle');
    await page.waitForFunction(
      () => ((window as unknown as { toasts: string[] }).toasts ?? []).some((x) => x.startsWith('error: ')),
      undefined,
      { timeout: WAIT },
    );
    const toasts = await page.evaluate(() => (window as unknown as { toasts: string[] }).toasts);
    expect(toasts).toStrictEqual([
      expect.stringMatching(
        /^error: This browser could not subscribe to notifications \(Registration failed - permission denied\)\.$/,
      ),
    ]);
    await page.waitForSelector('#push-panel[data-push="off"] #push-toggle:not([disabled])');
    expect(await page.textContent('#push-toggle')).toContain('Enable browser notifications');
    await screenshot(page, 'push-enable-failed');
    expect(await page.evaluate(async () => (await navigator.serviceWorker.ready).pushManager.getSubscription())).toBe(
      null,
    );
    const stored = await t.db.query(
      `SELECT count(*)::int AS n FROM push_subscriptions s JOIN users u ON u.id = s.user_id WHERE u.email = $1`,
      ['push-fails@example.com'],
    );
    expect(stored.rows[0].n).toBe(0);
  });

  it('enabling gives up when the push service cannot be reached (a real profile: Chromium tries Google’s service from here): the error is shown, the state stays off, nothing is stored', async () => {
    const profile = mkdtempSync(join(tmpdir(), 'push-profile-'));
    profiles.push(profile);
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run'],
    });
    persistent.push(context);
    await context.grantPermissions(['notifications'], { origin: t.baseUrl });
    const page = await signedIn(context, 'push-unreachable@example.com');
    await recordToasts(page);
    await page.waitForSelector('#push-panel[data-push="off"]');
    await page.click('#push-toggle');
    // Under way: the button says so and cannot be pressed twice.
    await page.waitForSelector('#push-toggle[disabled]:has-text("Enabling…")');
    await page.waitForFunction(
      () => ((window as unknown as { toasts: string[] }).toasts ?? []).some((x) => x.startsWith('error: ')),
      undefined,
      { timeout: WAIT },
    );
    const toasts = await page.evaluate(() => (window as unknown as { toasts: string[] }).toasts);
    expect(toasts).toStrictEqual([
      expect.stringMatching(/^error: The browser’s push service did not answer\. Try again later\.$/),
    ]);
    await page.waitForSelector('#push-panel[data-push="off"] #push-toggle:not([disabled])');
    expect(await page.textContent('#push-toggle')).toContain('Enable browser notifications');
    expect(await page.evaluate(async () => (await navigator.serviceWorker.ready).pushManager.getSubscription())).toBe(
      null,
    );
    const stored = await t.db.query(
      `SELECT count(*)::int AS n FROM push_subscriptions s JOIN users u ON u.id = s.user_id WHERE u.email = $1`,
      ['push-unreachable@example.com'],
    );
    expect(stored.rows[0].n).toBe(0);
  });

  it('the preferences form saves delivery methods and quiet hours (time zone defaulting to the browser’s), and shows the server’s 400 for an unknown zone', async () => {
    const context = await newContext({ viewport: { width: 1280, height: 1000 }, timezoneId: 'America/New_York' });
    const page = await signedIn(context, 'push-prefs@example.com');
    const errors = collectErrors(page);
    await recordToasts(page);
    const user = new Client(t.baseUrl);
    expect((await user.login('push-prefs@example.com')).status).toBe(200);

    // Loaded from the server: every method on, no quiet hours; the zone field offers the browser's.
    await page.waitForSelector('[name="delivery.order.email"]:checked');
    expect(await page.isChecked('[name="quietHours"]')).toBe(false);
    expect(await page.inputValue('[name="quietHours.timeZone"]')).toBe('America/New_York');
    expect(await page.isDisabled('[name="quietHours.start"]')).toBe(true);

    await page.uncheck('[name="delivery.order.email"]');
    await page.uncheck('[name="delivery.system.push"]');
    const quietSwitch = page.locator('label.switch', { has: page.locator('[name="quietHours"]') });
    await quietSwitch.click();
    await page.fill('[name="quietHours.start"]', '23:30');
    await page.fill('[name="quietHours.end"]', '06:45');
    await page.click('#delivery-save');
    await toasted(page, 'Delivery preferences saved');
    const saved = {
      ...DEFAULT_DELIVERY,
      order: { ...DEFAULT_DELIVERY.order, email: false },
      system: { ...DEFAULT_DELIVERY.system, push: false },
    };
    const quietHours = { start: '23:30', end: '06:45', timeZone: 'America/New_York' };
    let prefs = (await user.get('/preferences')).body;
    expect(prefs.delivery).toStrictEqual(saved);
    expect(prefs.quietHours).toStrictEqual(quietHours);
    expect(prefs.channels).toStrictEqual(DEFAULT_CHANNELS);

    // A reload shows what the server holds.
    await page.reload();
    await page.waitForSelector('[name="quietHours"]:checked');
    expect(await page.isChecked('[name="delivery.order.email"]')).toBe(false);
    expect(await page.isChecked('[name="delivery.system.push"]')).toBe(false);
    expect(await page.isChecked('[name="delivery.payment.push"]')).toBe(true);
    expect(await page.inputValue('[name="quietHours.start"]')).toBe('23:30');
    expect(await page.inputValue('[name="quietHours.end"]')).toBe('06:45');
    await settled(page);
    await screenshot(page, 'push-preferences', { fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 }); // a phone: one column
    await screenshot(page, 'push-preferences-phone', { fullPage: true });
    await page.setViewportSize({ width: 1280, height: 1000 });

    // An unknown zone: the server's 400, word for word, the field marked, nothing changed.
    await recordToasts(page);
    await page.fill('[name="quietHours.timeZone"]', 'Mars/Olympus_Mons');
    await page.uncheck('[name="delivery.payment.email"]');
    await page.click('#delivery-save');
    const put = await user.put('/preferences', { quietHours: { ...quietHours, timeZone: 'Mars/Olympus_Mons' } });
    expect(put.status).toBe(400);
    await page.waitForSelector('#delivery-error:not([hidden])');
    expect(await page.textContent('#delivery-error')).toBe(put.body.message);
    expect(await page.getAttribute('[name="quietHours.timeZone"]', 'aria-invalid')).toBe('true');
    await screenshot(page, 'push-preferences-400');
    prefs = (await user.get('/preferences')).body;
    expect(prefs.delivery).toStrictEqual(saved);
    expect(prefs.quietHours).toStrictEqual(quietHours);

    // Quiet hours off: saved as null.
    await page.fill('[name="quietHours.timeZone"]', 'Europe/Berlin');
    await quietSwitch.click();
    await page.click('#delivery-save');
    await toasted(page, 'Delivery preferences saved');
    prefs = (await user.get('/preferences')).body;
    expect(prefs.quietHours).toBe(null);
    expect(prefs.delivery.payment).toStrictEqual({ ...DEFAULT_DELIVERY.payment, email: false });
    expect(errors).toStrictEqual([]);
  });
});
