import { describe, expect, it } from '@jest/globals';
import { startTestApp } from './support/app.js';
import { chromiumWith, newUserOnPage, screenshot } from './support/browser.js';
import { codeSentTo } from './support/sms-outbox.js';
import { tempDirs } from './support/temp-dirs.js';

/* The inbox page's contacts section in Chromium: set a phone, verify it with the texted code, remove it. */
const tempDir = tempDirs('notif-contacts-ui-');
let dataDir: string;
const suite = chromiumWith(() => {
  dataDir = tempDir();
  return startTestApp({ DATA_DIR: dataDir });
});

describe('contacts on the inbox page', () => {
  it('sets a phone, refuses a bad number and a wrong code with the server’s words, verifies, removes', async () => {
    const email = 'phone-ui@example.com';
    const { context, page, errors } = await newUserOnPage(suite.browser, suite.app.baseUrl, email);
    await page.waitForSelector('#phone-status[data-state="none"]');

    await page.fill('#phone-form [name=number]', '0170 123');
    await page.click('#phone-send');
    await page.waitForSelector('#phone-error:not([hidden])');
    expect(await page.textContent('#phone-error')).toMatch(/E\.164/);

    const number = '+491701234567';
    await page.fill('#phone-form [name=number]', number);
    await page.click('#phone-send');
    await page.waitForSelector('#phone-status[data-state="unverified"]');
    await page.waitForSelector('#phone-verify-form:not([hidden])');
    const code = await codeSentTo(dataDir, number, 1);

    await page.fill('#phone-verify-form [name=code]', code === '000000' ? '111111' : '000000');
    await page.click('#phone-verify');
    await page.waitForSelector('#phone-error:not([hidden])');
    expect(await page.textContent('#phone-error')).toMatch(/wrong code/i);

    await page.fill('#phone-verify-form [name=code]', code);
    await page.click('#phone-verify');
    await page.waitForSelector('#phone-status[data-state="verified"]');
    expect(await page.textContent('#phone-status')).toContain(`${number} is verified`);
    expect(await page.isHidden('#phone-verify-form')).toBe(true);
    expect(await page.isHidden('#phone-error')).toBe(true);
    await screenshot(page, 'contacts-phone-verified');

    // A reload shows what the server holds.
    await page.reload();
    await page.waitForSelector('#phone-status[data-state="verified"]');

    await page.click('#phone-remove');
    await page.waitForSelector('#phone-status[data-state="none"]');
    expect(await page.isHidden('#phone-remove')).toBe(true);
    expect(errors).toEqual([]);
    await context.close();
  });
});
