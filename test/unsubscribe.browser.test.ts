import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import net, { type AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { startTestApp, type TestApp } from './support/app.js';
import { collectErrors, launchChromium, WAIT } from './support/browser.js';
import { Client } from './support/http.js';
import { publishTo } from './support/publish.js';
import { TestSmtpServer } from './support/smtp.js';
import { DEFAULT_DELIVERY } from './support/registry.js';

/*
 * Issue 19, finding 3: the page behind every email's unsubscribe link had a button that its own
 * CSP (form-action 'none') stopped, so in a browser it did nothing. Here Chromium opens the link
 * from a real email's List-Unsubscribe header and clicks it.
 */
let t: TestApp;
let smtp: TestSmtpServer;
let browser: Browser;

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });

beforeAll(async () => {
  smtp = new TestSmtpServer();
  await smtp.start();
  const port = await freePort();
  t = await startTestApp(
    { ESCALATE_AFTER_MS: '300', SMTP_URL: smtp.url, PUBLIC_URL: `http://127.0.0.1:${port}` },
    undefined,
    { port },
  );
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
  await smtp?.close();
});

describe('the unsubscribe page (issue 19, finding 3)', () => {
  it("opens from an email's List-Unsubscribe link, and its button turns that email off", async () => {
    const c = new Client(t.baseUrl);
    const { id } = await c.signUp('unsub-browser@example.com');
    await publishTo(t, id, { title: 'Order shipped' });
    const [m] = await smtp.waitFor(1, 'unsub-browser@example.com');
    const header = m.mail.headerLines.find((h) => h.key === 'list-unsubscribe')?.line ?? '';
    const link = /<([^>]+)>/.exec(header)?.[1] ?? '';
    expect(link.startsWith(`${t.baseUrl}/unsubscribe?token=`)).toBe(true);

    const page = await browser.newPage();
    page.setDefaultTimeout(WAIT);
    const errors = collectErrors(page);
    try {
      await page.goto(link);
      await page.click('button[type=submit]');
      await page.waitForSelector('#done');
      expect(await page.textContent('#done')).toBe('Email for order notifications is off.');
      expect(errors).toStrictEqual([]);
    } finally {
      await page.close();
    }
    expect((await c.get('/preferences')).body.delivery.order).toStrictEqual({
      ...DEFAULT_DELIVERY.order,
      email: false,
    });
  });
});
