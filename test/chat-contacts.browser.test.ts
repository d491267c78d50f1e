import { describe, expect, it } from '@jest/globals';
import { chromiumWith, newUserOnPage, screenshot } from './support/browser.js';
import { startChatTestBed } from './support/chat-app.js';
import { Client } from './support/http.js';

/* The contacts section's chat destinations in Chromium: add one (a test message goes out), see a refusal, remove. */
const suite = chromiumWith(() => startChatTestBed());

describe('chat destinations on the inbox page', () => {
  it('adds a Slack webhook (the test message arrives), shows a refusal in the server’s words, removes it', async () => {
    const email = 'chat-ui@example.com';
    const { context, page, errors } = await newUserOnPage(suite.browser, suite.app.baseUrl, email);
    await page.waitForSelector('#chat-status[data-count="0"]');

    // A URL outside CHAT_WEBHOOK_ALLOWLIST: the server's 400, nothing listed.
    await page.selectOption('#chat-form [name=kind]', 'discord');
    await page.fill('#chat-form [name=url]', 'https://example.com/api/webhooks/1/x');
    await page.click('#chat-add');
    await page.waitForSelector('#chat-error:not([hidden])');
    expect(await page.textContent('#chat-error')).toMatch(/not a discord webhook this server may call/);

    // A destination that refuses the test message: its status is named.
    suite.app.chat.script('/slack/ui-refuses', [{ status: 403 }]);
    await page.selectOption('#chat-form [name=kind]', 'slack');
    await page.fill('#chat-form [name=url]', `${suite.app.chat.origin}/slack/ui-refuses`);
    await page.click('#chat-add');
    await page.waitForFunction(() => /403/.test(document.querySelector('#chat-error')?.textContent ?? ''));

    await page.fill('#chat-form [name=url]', `${suite.app.chat.origin}/slack/ui-ok`);
    await page.fill('#chat-form [name=label]', 'Ops <channel>');
    await page.click('#chat-add');
    await page.waitForSelector('#chat-list li[data-id]');
    expect(await page.isHidden('#chat-error')).toBe(true);
    expect(await page.textContent('#chat-list li .chat-label')).toBe('Ops <channel>');
    expect(await page.textContent('#chat-list li')).toContain('localhost');
    expect(suite.app.chat.to('/slack/ui-ok')).toHaveLength(1);
    // The URL is not on the page once added (the field is cleared, the list shows the host).
    expect(await page.content()).not.toContain('/slack/ui-ok');
    await page.evaluate(() => document.querySelector('#chat-title')?.scrollIntoView({ block: 'center' }));
    await screenshot(page, 'contacts-chat-added');

    // A reload shows what the server holds.
    await page.reload();
    await page.waitForSelector('#chat-list li[data-id]');

    await page.click('#chat-list li button');
    await page.waitForSelector('#chat-status[data-count="0"]');
    const user = new Client(suite.app.baseUrl);
    await user.login(email);
    expect((await user.get('/contacts')).body.chat).toStrictEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  });
});
