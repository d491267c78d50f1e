import { describe, expect, it } from '@jest/globals';
import type { Page, Route } from 'playwright-core';
import { INVALID_CREDENTIALS } from '../src/auth/local.strategy.js';
import {
  badges,
  collectErrors,
  chromiumWith,
  listedTitles,
  live,
  openInbox,
  screenshot,
  settled,
  shownTitled,
  signInOnPage,
  eventually,
  recordToasts,
  toasted,
  WAIT,
} from './support/browser.js';
import { Client } from './support/http.js';
import { startWithAdmin } from './support/shop.js';

/**
 * The admin's side of the inbox page and the page's forms, in real Chromium:
 * a broadcast sent from the page's form reaches a user's browser and the
 * admin's own page live; the server's validation message is shown and nothing
 * is sent; buttons are disabled while their request is under way; a failed
 * sign-in says why and leaves the page signed out.
 */

const suite = chromiumWith(startWithAdmin, { viewport: { width: 1280, height: 860 } });
const { newContext } = suite;

/**
 * Holds the page's next request to `path` until released, so the page can be
 * seen while a request is under way. The request then goes to the real server.
 */
async function holdRequest(
  page: Page,
  path: string,
): Promise<{ arrived: Promise<void>; release: () => Promise<void> }> {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  let arrived!: () => void;
  const arrivedPromise = new Promise<void>((r) => (arrived = r));
  let passed!: () => void;
  const passedPromise = new Promise<void>((r) => (passed = r));
  const pattern = `**${path}`;
  await page.route(
    pattern,
    async (route: Route) => {
      arrived();
      await gate;
      await route.continue();
      passed();
    },
    { times: 1 },
  );
  return {
    arrived: arrivedPromise,
    release: async () => {
      open();
      await passedPromise;
      await page.unroute(pattern);
    },
  };
}

async function broadcastsSent(): Promise<string[]> {
  const res = await suite.app.admin.get('/admin/broadcasts?limit=100');
  expect(res.status).toBe(200); // res.text
  return res.body.items.map((n: { title: string }) => n.title);
}

describe('admin panel and forms of the inbox page in Chromium', () => {
  it('an admin sends broadcasts from the form: they arrive live on a user’s browser and the admin’s own page; a bad one shows the server’s 400 and sends nothing', async () => {
    // A user, signed in in a browser of their own.
    await new Client(suite.app.t.baseUrl).signUp('margaret@example.com');
    const userPage = await openInbox(await newContext(), suite.app.t.baseUrl);
    const errors = collectErrors(userPage);
    await signInOnPage(userPage, 'margaret@example.com');
    expect(await userPage.isHidden('#new-broadcast')).toBe(true); // no broadcasts for a user

    // The admin, in another browser.
    const adminPage = await openInbox(await newContext(), suite.app.t.baseUrl);
    errors.push(...collectErrors(adminPage));
    await signInOnPage(adminPage, suite.app.t.adminEmail, suite.app.t.adminPassword);
    expect(await adminPage.textContent('#account-role')).toBe('Admin');
    await recordToasts(adminPage);
    const form = '#broadcast-form';
    const submit = '#broadcast-submit';
    const compose = async () => {
      await adminPage.click('#new-broadcast');
      await adminPage.waitForSelector('#broadcast-dialog[open]');
    };

    // No title: the server's 400 message, under the form, with the title marked; nothing is sent,
    // and the dialog stays open with what the admin typed.
    await compose();
    await adminPage.fill(`${form} [name=body]`, 'Checkout will be unavailable from 02:00 to 02:30 UTC.');
    await adminPage.click(submit);
    const expected = await suite.app.admin.post('/admin/broadcasts', { title: '', body: 'x' }); // what the server says to that
    expect(expected.status).toBe(400);
    await adminPage.waitForSelector('#broadcast-error:not([hidden])');
    const said: string = expected.body.message;
    expect(said).toMatch(/^title /);
    expect(await adminPage.textContent('#broadcast-error')).toBe(said.charAt(0).toUpperCase() + said.slice(1)); // as a sentence
    expect(await adminPage.isVisible('#broadcast-dialog[open]')).toBe(true);
    expect(await adminPage.getAttribute(`${form} [name=title]`, 'aria-invalid')).toBe('true');
    expect(await adminPage.inputValue(`${form} [name=body]`)).toBe(
      'Checkout will be unavailable from 02:00 to 02:30 UTC.',
    );
    expect(await adminPage.isEnabled(submit)).toBe(true);
    expect(await broadcastsSent()).toStrictEqual([]);
    await screenshot(adminPage, 'admin-broadcast-error');

    // A good one. While it is under way the button is disabled (a second click cannot send it twice).
    await adminPage.fill(`${form} [name=title]`, 'Scheduled maintenance tonight');
    await adminPage.selectOption(`${form} [name=severity]`, 'warning');
    const held = await holdRequest(adminPage, '/admin/broadcasts');
    await adminPage.click(submit);
    await held.arrived;
    await adminPage.waitForSelector(`${submit}:disabled`);
    expect(await adminPage.getAttribute(form, 'aria-busy')).toBe('true');
    expect(await adminPage.textContent(submit)).toBe('Sending…');
    await screenshot(adminPage, 'admin-broadcast-sending');
    await held.release();
    await adminPage.waitForSelector(`${submit}:enabled`, { state: 'attached' });
    await toasted(adminPage, 'Broadcast sent to everyone');
    await adminPage.waitForSelector('#broadcast-dialog', { state: 'hidden' });
    // Opened again: a clean form.
    await compose();
    expect(await adminPage.isHidden('#broadcast-error')).toBe(true);
    expect(await adminPage.getAttribute(`${form} [name=title]`, 'aria-invalid')).toBe(null);
    expect(await adminPage.inputValue(`${form} [name=title]`)).toBe(''); // the form is cleared after sending
    await adminPage.click('#broadcast-cancel');
    await adminPage.waitForSelector('#broadcast-dialog', { state: 'hidden' });

    // Live on the user's page and on the admin's own.
    for (const page of [userPage, adminPage]) {
      const id = await shownTitled(page, 'Scheduled maintenance tonight');
      expect(await page.getAttribute(`.item[data-id="${id}"]`, 'data-severity')).toBe('warning');
      expect(await page.textContent(`.item[data-id="${id}"] .item-body`)).toBe(
        'Checkout will be unavailable from 02:00 to 02:30 UTC.',
      );
      await badges(page, { order: 0, payment: 0, system: 1 });
    }
    expect(await broadcastsSent()).toStrictEqual(['Scheduled maintenance tonight']); // sent once, the bad one not at all

    // To admins only: the admin's page shows it; the user's does not. A broadcast to everyone
    // after it shows that the user's page has seen everything sent before.
    await compose();
    await adminPage.fill(`${form} [name=title]`, 'On call this weekend: Linus');
    await adminPage.selectOption(`${form} [name=audience]`, 'admin');
    await adminPage.click(submit);
    await toasted(adminPage, 'Broadcast sent to admins');
    await shownTitled(adminPage, 'On call this weekend: Linus');
    await badges(adminPage, { order: 0, payment: 0, system: 2 });
    await compose();
    await adminPage.fill(`${form} [name=title]`, 'Maintenance is over');
    await adminPage.fill(`${form} [name=body]`, 'Checkout is back.');
    await adminPage.click(submit);
    await shownTitled(userPage, 'Maintenance is over');
    await badges(userPage, { order: 0, payment: 0, system: 2 });
    expect(await listedTitles(userPage)).toStrictEqual(['Maintenance is over', 'Scheduled maintenance tonight']);
    await shownTitled(adminPage, 'Maintenance is over');
    await eventually(async () =>
      expect(await listedTitles(adminPage)).toStrictEqual([
        'Maintenance is over',
        'On call this weekend: Linus',
        'Scheduled maintenance tonight',
      ]),
    );

    await settled(adminPage);
    await screenshot(adminPage, 'admin');
    expect(errors).toStrictEqual([]);
  });

  it('a failed sign-in shows the server’s message and stays signed out; the button is disabled while signing in; a taken email on sign-up is explained', async () => {
    await new Client(suite.app.t.baseUrl).signUp('barbara@example.com');
    const page = await openInbox(await newContext(), suite.app.t.baseUrl);
    const errors = collectErrors(page);
    await page.waitForSelector('body[data-view="signed-out"]');

    // Nothing typed: the page asks for both, and sends nothing.
    await page.click('#auth-submit');
    await page.waitForSelector('#auth-error:not([hidden])');
    expect(await page.textContent('#auth-error')).toBe('Enter your email and password.');

    await page.fill('#auth-form [name=email]', 'barbara@example.com');
    await page.fill('#auth-form [name=password]', 'not-her-password');
    const held = await holdRequest(page, '/auth/login');
    await page.click('#auth-submit');
    await held.arrived;
    await page.waitForSelector('#auth-submit:disabled');
    expect(await page.textContent('#auth-submit')).toBe('Signing in…');
    await held.release();
    await page.waitForSelector('#auth-error:not([hidden])');
    expect(await page.textContent('#auth-error')).toBe(INVALID_CREDENTIALS);
    await page.waitForSelector('#auth-submit:enabled');
    expect(await page.textContent('#auth-submit')).toBe('Sign in');
    expect(await page.getAttribute('body', 'data-view')).toBe('signed-out');
    expect(await page.inputValue('#auth-form [name=email]')).toBe('barbara@example.com'); // the email stays
    expect(await page.inputValue('#auth-form [name=password]')).toBe(''); // the wrong password is cleared
    await screenshot(page, 'sign-in-error');

    // Creating an account with a taken email says so.
    await page.click('#tab-register');
    await page.waitForSelector('#auth-error', { state: 'hidden' });
    await page.fill('#auth-form [name=password]', 'password-123');
    await page.click('#auth-submit');
    await page.waitForSelector('#auth-error:text-is("That email already has an account. Sign in instead.")');
    expect(await page.getAttribute('body', 'data-view')).toBe('signed-out');

    // And the right password signs in.
    await page.click('#tab-sign-in');
    await page.fill('#auth-form [name=password]', 'password-123');
    await page.click('#auth-submit');
    await live(page);
    await page.waitForSelector('#empty:not([hidden])', { timeout: WAIT });
    expect(errors).toStrictEqual([]);
  });
});
