import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, type TestApp } from './support/app.js';
import { Client } from './support/http.js';
import { UNSUBSCRIBE_TTL_MS, UnsubscribeTokens } from '../src/delivery/methods/email/unsubscribe-token.js';

/*
 * Issue 19, finding 4: an unsubscribe token turned email off again and again, also after the
 * user had turned it back on, for 60 days. A token now does what it says once: it applies while
 * the preferences it turns off are as they were when it was sent.
 */
let t: TestApp;
const SECRET = 'test-secret-test-secret-test-secret-0123';
const tokens = new UnsubscribeTokens(SECRET);

beforeAll(async () => {
  t = await startTestApp({ SESSION_SECRET: SECRET });
});
afterAll(async () => {
  await t?.close();
});

/** The one-click POST, as a mail provider sends it: no cookie, no CSRF token. */
const oneClick = (token: string) =>
  fetch(`${t.baseUrl}/unsubscribe?token=${encodeURIComponent(token)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'List-Unsubscribe=One-Click',
  });

const emailOf = async (c: Client) => {
  const d = (await c.get('/preferences')).body.delivery as Record<string, { email: boolean }>;
  return { order: d.order.email, payment: d.payment.email };
};

describe('unsubscribe tokens (issue 19, finding 4)', () => {
  it('no longer apply once the user changed that preference afterwards', async () => {
    const c = new Client(t.baseUrl);
    const { id } = await c.signUp('unsub-once@example.com');
    const token = tokens.sign(id, ['order']);
    expect((await oneClick(token)).status).toBe(200);
    expect(await emailOf(c)).toStrictEqual({ order: false, payment: true });
    // A mail provider repeating the POST: nothing more to do, still 200.
    expect((await oneClick(token)).status).toBe(200);
    // The user turns order emails back on: the old link must not turn them off again.
    expect((await c.request('PUT', '/preferences', { delivery: { order: { email: true } } })).status).toBe(200);
    const again = await oneClick(token);
    expect(again.status).toBe(400);
    expect(((await again.json()) as { message: string }).message).toMatch(/changed/);
    expect(await emailOf(c)).toStrictEqual({ order: true, payment: true });
  });

  it("apply while only another channel's email changed; a token sent after the change applies", async () => {
    const c = new Client(t.baseUrl);
    const { id } = await c.signUp('unsub-other@example.com');
    const before = tokens.sign(id, ['order'], Date.now() - 1000);
    expect((await c.request('PUT', '/preferences', { delivery: { payment: { email: false } } })).status).toBe(200);
    expect((await oneClick(before)).status).toBe(200);
    expect(await emailOf(c)).toStrictEqual({ order: false, payment: false });
    expect((await c.request('PUT', '/preferences', { delivery: { order: { email: true } } })).status).toBe(200);
    expect((await oneClick(tokens.sign(id, ['order']))).status).toBe(200);
    expect(await emailOf(c)).toStrictEqual({ order: false, payment: false });
  });

  it('expire after UNSUBSCRIBE_TTL_MS (30 days) and refuse tampering', async () => {
    const c = new Client(t.baseUrl);
    const { id } = await c.signUp('unsub-old@example.com');
    expect(UNSUBSCRIBE_TTL_MS).toBe(30 * 24 * 3_600_000);
    expect((await oneClick(tokens.sign(id, ['order'], Date.now() - UNSUBSCRIBE_TTL_MS - 1000))).status).toBe(400);
    expect((await oneClick(tokens.sign(id, ['order']).replace(/.$/, (x) => (x === 'A' ? 'B' : 'A')))).status).toBe(400);
    expect(await emailOf(c)).toStrictEqual({ order: true, payment: true });
  });

  it('show a page whose button may post the form back to this origin, and only there', async () => {
    const c = new Client(t.baseUrl);
    const { id } = await c.signUp('unsub-page@example.com');
    const page = await fetch(`${t.baseUrl}/unsubscribe?token=${encodeURIComponent(tokens.sign(id, ['order']))}`);
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/form-action 'self'/);
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
    // Every other answer keeps form-action 'none'.
    expect((await fetch(`${t.baseUrl}/health`)).headers.get('content-security-policy')).toMatch(/form-action 'none'/);
  });
});
