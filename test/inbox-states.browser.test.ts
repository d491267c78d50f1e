import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { BrowserContextOptions, Page } from 'playwright-core';
import { CHANNELS } from '../client/registry.js';
import {
  badge,
  collectErrors,
  eventually,
  chromiumWith,
  live,
  openInbox as open,
  screenshot,
  shown,
  shownRead,
  shownTitled,
  signedInInbox,
  WAIT,
} from './support/browser.js';
import { Client } from './support/http.js';
import { placeOrder, startWithAdmin } from './support/shop.js';

/**
 * The inbox page's states (issue 23) in real Chromium against the real server:
 * archive, snooze presets, action buttons, the unseen badge, bulk select, the
 * language switch, every channel tab on a 360-pixel phone, axe-core's audit and
 * the keyboard alone. Each user is signed up by HTTP and signs in on the page.
 */

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const suite = chromiumWith(startWithAdmin, { viewport: { width: 1280, height: 900 } });
const { newContext } = suite;

interface Shopper {
  id: string;
  email: string;
  client: Client;
}

async function shopper(email: string): Promise<Shopper> {
  const client = new Client(suite.app.t.baseUrl);
  const user = await client.signUp(email);
  return { ...user, client };
}

/** A new shopper, signed in on the inbox page in a context of its own (with `options`). */
async function shopperOnPage(email: string, options?: BrowserContextOptions) {
  const user = await shopper(email);
  const context = await newContext(options);
  return { user, context, ...(await signedInInbox(context, suite.app.t.baseUrl, email)) };
}

/** A personal notification with buttons: a broadcast to this user alone. */
async function withActions(user: Shopper, title: string): Promise<string> {
  const res = await suite.app.admin.post('/admin/broadcasts', {
    title,
    body: 'The new returns policy starts on Monday.',
    audience: { userIds: [user.id] },
    actions: [
      { id: 'open', label: 'Read the policy', url: `${suite.app.t.baseUrl}/assets/icon.svg`, style: 'primary' },
      { id: 'later', label: 'Later', style: 'secondary' },
    ],
  });
  expect(res.status).toBe(201); // res.text
  return res.body.id;
}

async function serverNotification(user: Shopper, id: string) {
  const res = await user.client.get('/notifications?status=all&limit=100');
  expect(res.status).toBe(200);
  const n = res.body.items.find((x: { id: string }) => x.id === id);
  if (!n) throw new Error(`notification ${id} is not the user's`);
  return n as { id: string; readAt: string | null; archivedAt: string | null; snoozedUntil: string | null };
}

async function serverIds(user: Shopper, status: string): Promise<string[]> {
  const res = await user.client.get(`/notifications?status=${status}&limit=100`);
  expect(res.status).toBe(200);
  return res.body.items.map((n: { id: string }) => n.id);
}

const view = async (page: Page, status: 'inbox' | 'archived' | 'snoozed') => {
  await page.click(`#views [data-status="${status}"]`);
  await page.waitForSelector(`#views [data-status="${status}"][aria-pressed="true"]`);
  await page.waitForSelector(`#list[data-status="${status}"][aria-busy="false"]`, { state: 'attached' });
};
const gone = (page: Page, id: string) =>
  page.waitForSelector(`#list .item[data-id="${id}"]`, { state: 'detached', timeout: WAIT });

/** The wall-clock time of an instant in a zone: `{ date: '2026-12-08', time: '08:00', weekday: 'Mon' }`. */
function wallTime(iso: string | Date, timeZone: string) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      weekday: 'short',
      hourCycle: 'h23',
    })
      .formatToParts(new Date(iso))
      .map((p) => [p.type, p.value]),
  );
  return {
    date: `${parts.year}-${parts.month}-${parts.day}`,
    time: `${parts.hour}:${parts.minute}`,
    weekday: parts.weekday,
  };
}
const dayAfter = (date: string, days: number) =>
  new Date(Date.parse(`${date}T12:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);

/** A notification with buttons, then two order notifications, all shown on `page`: their ids. */
async function buttonsAndTwoOrders(user: Shopper, page: Page): Promise<[string, string, string]> {
  const withButtons = await withActions(user, 'Returns policy update');
  const first = await shownTitled(page, `Order #${await placeOrder(user.client)} placed`);
  const second = await shownTitled(page, `Order #${await placeOrder(user.client)} placed`);
  await shown(page, withButtons);
  return [withButtons, first, second];
}

/** axe-core's serious and critical findings on the page as it is now. */
async function axeFindings(page: Page): Promise<string[]> {
  // Evaluated over the DevTools protocol, so the page's CSP (script-src 'self') does not apply.
  await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(): Promise<{ violations: any[] }> } }).axe;
    const result = await axe.run();
    return result.violations.map((v) => ({
      id: v.id as string,
      impact: v.impact as string,
      targets: (v.nodes as Array<{ target: string[] }>).map((n) => n.target.join(' ')),
    }));
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.targets.join(', ')}`);
}

/** Presses Tab until `selector` has the focus (the keyboard alone gets there), at most `max` times. */
async function tabTo(page: Page, selector: string, max = 400): Promise<void> {
  for (let i = 0; i < max; i++) {
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`Tab never reached ${selector}`);
}

/** The focused element shows that it is: :focus-visible with an outline. */
async function focusVisible(page: Page): Promise<boolean> {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (!el || el === document.body) return false;
    const style = getComputedStyle(el);
    return el.matches(':focus-visible') && style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
  });
}

describe('inbox page states in Chromium', () => {
  it('archives in one tab and the other tab follows; the archive view lists it and unarchives it', async () => {
    const { user: ada, context, page: a, errors } = await shopperOnPage('archive@example.com');
    const b = await open(context, suite.app.t.baseUrl);
    errors.push(...collectErrors(b));
    await live(b);
    const o1 = await placeOrder(ada.client);
    const o2 = await placeOrder(ada.client);
    const n1 = await shownTitled(a, `Order #${o1} placed`);
    const n2 = await shownTitled(a, `Order #${o2} placed`);
    await shown(b, n1);

    await a.click(`.item[data-id="${n1}"] .item-archive`);
    await gone(a, n1);
    await gone(b, n1); // event: state from the server
    await shown(b, n2);
    expect((await serverNotification(ada, n1)).archivedAt).not.toBeNull();
    expect(await serverIds(ada, 'archived')).toStrictEqual([n1]);

    await view(b, 'archived');
    await shown(b, n1);
    expect(await b.$$eval('#list .item', (items) => items.length)).toBe(1);
    await screenshot(b, 'archived');
    await b.click(`.item[data-id="${n1}"] .item-archive`); // "Unarchive" here
    await gone(b, n1);
    await shown(a, n1);
    expect((await serverNotification(ada, n1)).archivedAt).toBeNull();
    expect(errors).toStrictEqual([]);
  });

  it('snoozes with the presets (1 hour, tomorrow 08:00 and next Monday 08:00 in the user’s zone), lists them as snoozed, unsnoozes, and shows one the server woke', async () => {
    const zone = 'Asia/Tokyo';
    const { user: grace, page, errors } = await shopperOnPage('snooze@example.com', { timezoneId: zone });
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await shownTitled(page, `Order #${await placeOrder(grace.client)} placed`));
    const [hour, tomorrow, week] = ids;

    const snooze = async (id: string, preset: 'hour' | 'tomorrow' | 'week') => {
      await page.click(`.item[data-id="${id}"] .item-snooze`);
      await page.click(`.item[data-id="${id}"] [role="menuitem"][data-preset="${preset}"]`);
      await gone(page, id); // at once, before the server answers: wait for the server too
      await eventually(async () => expect((await serverNotification(grace, id)).snoozedUntil).not.toBeNull());
    };
    const before = Date.now();
    await snooze(hour, 'hour');
    const after = Date.now();
    const untilHour = Date.parse((await serverNotification(grace, hour)).snoozedUntil!);
    expect(untilHour).toBeGreaterThanOrEqual(before + 3_600_000 - 1000);
    expect(untilHour).toBeLessThanOrEqual(after + 3_600_000 + 1000);

    await snooze(tomorrow, 'tomorrow');
    const today = wallTime(new Date(), zone).date;
    expect(wallTime((await serverNotification(grace, tomorrow)).snoozedUntil!, zone)).toMatchObject({
      date: dayAfter(today, 1),
      time: '08:00',
    });

    await snooze(week, 'week');
    const monday = wallTime((await serverNotification(grace, week)).snoozedUntil!, zone);
    expect(monday).toMatchObject({ time: '08:00', weekday: 'Mon' });
    const days = (Date.parse(`${monday.date}T12:00:00Z`) - Date.parse(`${today}T12:00:00Z`)) / 86_400_000;
    expect(days).toBeGreaterThanOrEqual(1);
    expect(days).toBeLessThanOrEqual(7);
    expect(await serverIds(grace, 'inbox')).toStrictEqual([]);

    await view(page, 'snoozed');
    for (const id of ids) await shown(page, id);
    await page.click(`.item[data-id="${tomorrow}"] .item-unsnooze`);
    await gone(page, tomorrow);
    await eventually(async () => expect(await serverIds(grace, 'inbox')).toStrictEqual([tomorrow]));

    // The wake-up: the server's waker clears a due snooze and streams `unsnoozed`.
    await view(page, 'inbox');
    await shown(page, tomorrow);
    await suite.app.t.db.query(
      `UPDATE notification_states SET snoozed_until = now() WHERE user_id = $1 AND notification_id = $2`,
      [grace.id, hour],
    );
    await shown(page, hour);
    await badge(page, 'order', 2);
    expect(errors).toStrictEqual([]);
  });

  it('an action button records the press and marks the notification read; one with a url opens it', async () => {
    const { user: lin, context, page, errors } = await shopperOnPage('action@example.com');
    const id = await withActions(lin, 'Returns policy update');
    await shown(page, id);
    await badge(page, 'system', 1);

    await page.click(`.item[data-id="${id}"] .item-actions button[data-action="later"]`);
    await shownRead(page, id);
    await badge(page, 'system', 0);
    const presses = () =>
      suite.app.t.db
        .query(
          `SELECT action_id FROM notification_action_presses WHERE user_id = $1 AND notification_id = $2 ORDER BY action_id`,
          [lin.id, id],
        )
        .then((r) => r.rows.map((row: { action_id: string }) => row.action_id));
    // The page shows it read at once; the server's record follows its answer.
    await eventually(async () => expect(await presses()).toStrictEqual(['later']));
    expect((await serverNotification(lin, id)).readAt).not.toBeNull();

    const opened = context.waitForEvent('page');
    await page.click(`.item[data-id="${id}"] .item-actions button[data-action="open"]`);
    const tab = await opened;
    await tab.waitForLoadState();
    expect(tab.url()).toBe(`${suite.app.t.baseUrl}/assets/icon.svg`);
    await eventually(async () => expect(await presses()).toStrictEqual(['later', 'open']));
    expect(errors).toStrictEqual([]);
  });

  it('an action pressed in an email or a system notification is recorded once the user confirms it on the page; a link to what is not theirs records nothing', async () => {
    const { user: ada, page, errors } = await shopperOnPage('action-link@example.com');
    const id = await withActions(ada, 'Returns policy update');
    await shown(page, id);
    const presses = () =>
      suite.app.t.db
        .query(`SELECT action_id FROM notification_action_presses WHERE user_id = $1 AND notification_id = $2`, [
          ada.id,
          id,
        ])
        .then((r) => r.rows.map((row: { action_id: string }) => row.action_id));

    // The email's link: /?notification=…&action=… (a link anyone could have sent, so it asks first).
    await page.goto(`${suite.app.t.baseUrl}/?notification=${id}&action=later`);
    await page.waitForSelector('#press:not([hidden])');
    expect(await page.textContent('#press-text')).toContain('Returns policy update');
    expect(await page.textContent('#press-confirm')).toBe('Later');
    expect(page.url()).toBe(`${suite.app.t.baseUrl}/`);
    expect(await presses()).toStrictEqual([]);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('press-confirm');
    expect(await axeFindings(page)).toStrictEqual([]);
    await page.click('#press-confirm');
    await eventually(async () => expect(await presses()).toStrictEqual(['later']));
    await shownRead(page, id);
    await page.waitForSelector('#press', { state: 'hidden' });

    // Someone else's notification, and an action this one does not have: nothing to confirm.
    const other = await shopper('action-link-other@example.com');
    const theirs = await withActions(other, 'Not yours');
    for (const query of [`notification=${theirs}&action=later`, `notification=${id}&action=nope`]) {
      await page.goto(`${suite.app.t.baseUrl}/?${query}`);
      await page.waitForSelector('#toast.error:has-text("no longer in your inbox")');
      expect(await page.isHidden('#press')).toBe(true);
    }
    expect(await presses()).toStrictEqual(['later']);
    expect(errors).toStrictEqual([]);
  });

  it('the unseen badge counts what the list has not shown, apart from unread, and goes to 0 once the inbox is viewed', async () => {
    const { user: kim, page, errors } = await shopperOnPage('unseen@example.com');
    await view(page, 'archived');
    const order = await placeOrder(kim.client);
    await badge(page, 'order', 1);
    await page.waitForSelector('#unseen[data-count="1"]', { state: 'attached' });
    expect((await kim.client.get('/notifications/unread-count')).body).toMatchObject({ total: 1, unseen: 1 });

    await view(page, 'inbox');
    await shownTitled(page, `Order #${order} placed`);
    await page.waitForSelector('#unseen[data-count="0"]', { state: 'attached' });
    await badge(page, 'order', 1); // seen is not read
    await eventually(async () =>
      expect((await kim.client.get('/notifications/unread-count')).body).toMatchObject({ total: 1, unseen: 0 }),
    );
    expect(errors).toStrictEqual([]);
  });

  it('bulk: archives the 3 selected, marks all read and unread with "select all", unarchives from the archive', async () => {
    const { user: sam, page, errors } = await shopperOnPage('bulk@example.com');
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await shownTitled(page, `Order #${await placeOrder(sam.client)} placed`));
    const chosen = ids.slice(0, 3);

    for (const id of chosen) await page.check(`.item[data-id="${id}"] .item-select`);
    await page.waitForSelector('#bulk-count:text("3 selected")');
    await page.click('#bulk-archive');
    for (const id of chosen) await gone(page, id);
    await eventually(async () => expect((await serverIds(sam, 'archived')).sort()).toStrictEqual([...chosen].sort()));
    expect(await serverIds(sam, 'inbox')).toStrictEqual([ids[3]]);

    await page.check('#select-all');
    await page.click('#bulk-read');
    await shownRead(page, ids[3]);
    await badge(page, 'total', 0);
    await page.check('#select-all');
    await page.click('#bulk-unread');
    await page.waitForSelector(`.item.unread[data-id="${ids[3]}"]`);
    await badge(page, 'total', 1);

    await view(page, 'archived');
    for (const id of chosen) await shown(page, id);
    await page.check('#select-all');
    await page.click('#bulk-unarchive');
    for (const id of chosen) await gone(page, id);
    await eventually(async () => expect((await serverIds(sam, 'inbox')).sort()).toStrictEqual([...ids].sort()));
    expect(errors).toStrictEqual([]);
  });

  it('the language switch in the settings saves the locale to the preferences and shows it after a reload', async () => {
    const { user: eva, page, errors } = await shopperOnPage('locale@example.com');
    await page.waitForSelector('#locale:not([disabled])');
    const offered = await page.$$eval('#locale option', (options) =>
      options.map((o) => (o as HTMLOptionElement).value),
    );
    expect(offered).toEqual(expect.arrayContaining(['en', 'de', 'fr', 'es']));
    expect(await page.inputValue('#locale')).toBe('en');
    await page.selectOption('#locale', 'de');
    await eventually(async () => expect((await eva.client.get('/preferences')).body.locale).toBe('de'));
    await page.reload();
    await live(page);
    await page.waitForFunction(() => (document.querySelector('#locale') as HTMLSelectElement).value === 'de');
    expect(errors).toStrictEqual([]);
  });

  it('on a 360-pixel phone every channel tab and the view switch are visible, none cut off, nothing scrolls sideways', async () => {
    const {
      user: mo,
      page,
      errors,
    } = await shopperOnPage('phone@example.com', {
      viewport: { width: 360, height: 740 },
      isMobile: true,
      hasTouch: true,
    });
    await withActions(mo, 'Returns policy update');
    await shownTitled(page, 'Returns policy update');
    const boxes = await page.$$eval('nav.channels .channel, #views button', (tabs) =>
      tabs.map((tab) => {
        const r = tab.getBoundingClientRect();
        const name = tab.querySelector('.channel-name') ?? tab;
        return {
          text: (tab as HTMLElement).innerText.trim(),
          inside: r.left >= 0 && r.right <= window.innerWidth && r.width > 0,
          nameWhole: name.scrollWidth <= name.clientWidth + 0.5,
        };
      }),
    );
    expect(boxes.length).toBe(CHANNELS.length + 1 + 3);
    for (const box of boxes) expect(box).toMatchObject({ inside: true, nameWhole: true });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    expect(await page.$eval('nav.channels', (nav) => nav.scrollWidth <= nav.clientWidth + 0.5)).toBe(true);
    await screenshot(page, 'phone-360-tabs');
    expect(errors).toStrictEqual([]);
  });

  it('axe-core finds no serious or critical violation: inbox with action buttons, snooze menu open, archive and snooze views, settings', async () => {
    const { user: ivy, page, errors } = await shopperOnPage('axe@example.com');
    const [a, b, c] = await buttonsAndTwoOrders(ivy, page);
    expect(await axeFindings(page)).toStrictEqual([]);

    await page.click(`.item[data-id="${a}"] .item-snooze`);
    await page.waitForSelector(`.item[data-id="${a}"] [role="menu"]:not([hidden])`);
    expect(await axeFindings(page)).toStrictEqual([]);
    await page.keyboard.press('Escape');

    await page.check(`.item[data-id="${a}"] .item-select`);
    expect(await axeFindings(page)).toStrictEqual([]);
    await page.uncheck(`.item[data-id="${a}"] .item-select`);

    await page.click(`.item[data-id="${b}"] .item-archive`);
    await page.click(`.item[data-id="${c}"] .item-snooze`);
    await page.click(`.item[data-id="${c}"] [role="menuitem"][data-preset="hour"]`);
    await gone(page, c);
    await view(page, 'archived');
    await shown(page, b);
    expect(await axeFindings(page)).toStrictEqual([]);
    await view(page, 'snoozed');
    await shown(page, c);
    expect(await axeFindings(page)).toStrictEqual([]);

    // A phone's one-column layout, the settings below the list.
    await page.setViewportSize({ width: 360, height: 740 });
    await page.locator('#locale').scrollIntoViewIfNeeded();
    expect(await axeFindings(page)).toStrictEqual([]);
    expect(errors).toStrictEqual([]);
  });

  it('works from the keyboard alone: an action, archive, and a snooze preset from its menu, with the focus visible', async () => {
    const { user: kai, page, errors } = await shopperOnPage('keyboard@example.com');
    const [act, archive, snooze] = await buttonsAndTwoOrders(kai, page);
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());

    await tabTo(page, `.item[data-id="${act}"] .item-actions button[data-action="later"]`);
    expect(await focusVisible(page)).toBe(true);
    await page.keyboard.press('Space');
    await shownRead(page, act);

    await tabTo(page, `.item[data-id="${archive}"] .item-archive`);
    expect(await focusVisible(page)).toBe(true);
    await page.keyboard.press('Enter');
    await gone(page, archive);
    // The focus stays in the list, not lost to the page's top.
    expect(await page.evaluate(() => !!document.activeElement?.closest('#list, .inbox'))).toBe(true);

    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await tabTo(page, `.item[data-id="${snooze}"] .item-snooze`);
    await page.keyboard.press('Enter');
    await page.waitForSelector(`.item[data-id="${snooze}"] [role="menu"]:not([hidden])`);
    expect(await page.getAttribute(`.item[data-id="${snooze}"] .item-snooze`, 'aria-expanded')).toBe('true');
    // The first preset has the focus; Escape closes the menu and gives it back.
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-preset'))).toBe('hour');
    await page.keyboard.press('Escape');
    await page.waitForSelector(`.item[data-id="${snooze}"] [role="menu"]`, { state: 'hidden' });
    expect(await page.evaluate(() => document.activeElement?.classList.contains('item-snooze'))).toBe(true);
    await page.keyboard.press('Enter');
    await page.keyboard.press('ArrowDown');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-preset'))).toBe('tomorrow');
    expect(await focusVisible(page)).toBe(true);
    await page.keyboard.press('Enter');
    await gone(page, snooze);
    await eventually(async () => {
      expect((await serverNotification(kai, snooze)).snoozedUntil).not.toBeNull();
      expect((await serverNotification(kai, archive)).archivedAt).not.toBeNull();
    });
    expect(errors).toStrictEqual([]);
  });
});
