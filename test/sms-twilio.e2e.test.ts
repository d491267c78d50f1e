import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startTestApp, type TestApp } from './support/app.js';
import { Client } from './support/http.js';
import { tempDirs } from './support/temp-dirs.js';
import { TestTwilio } from './support/twilio.js';

/* SMS through SMS_URL: a Twilio stand-in on loopback checks the request and answers each status in turn. */
const SID = 'AC0123456789abcdef0123456789abcdef';
const TOKEN = 'auth-token-0123456789';
const FROM = '+15005550006';
const tempDir = tempDirs('notif-sms-');
let t: TestApp;
let twilio: TestTwilio;
let dataDir: string;
let n = 0;

beforeAll(async () => {
  twilio = new TestTwilio();
  await twilio.start();
  dataDir = tempDir();
  t = await startTestApp({ DATA_DIR: dataDir, SMS_URL: twilio.url(SID, TOKEN), SMS_FROM: FROM });
});
afterAll(async () => {
  await t?.close();
  await twilio?.close();
});

async function setPhone(): Promise<{ status: number; number: string; body: any }> {
  const c = new Client(t.baseUrl);
  await c.signUp(`twilio-${++n}@example.com`);
  const number = `+4915100000${String(n).padStart(2, '0')}`;
  const res = await c.put('/contacts/phone', { number });
  return { status: res.status, number, body: res.body };
}

describe('SMS over the Twilio REST API', () => {
  it("POSTs Twilio's form with Basic auth from SMS_URL's user part; 201 sent, 429 and 5xx transient, 400 refused", async () => {
    twilio.answers = [201, 429, 500, 400];
    const sent = await setPhone();
    expect(sent.status).toBe(202);
    const [req] = await twilio.received(1);
    expect(req.method).toBe('POST');
    expect(req.path).toBe(`/2010-04-01/Accounts/${SID}/Messages.json`);
    expect(req.authorization).toBe(`Basic ${Buffer.from(`${SID}:${TOKEN}`).toString('base64')}`);
    expect(req.contentType).toBe('application/x-www-form-urlencoded');
    expect(Object.keys(req.form).sort()).toEqual(['Body', 'From', 'To']);
    expect(req.form.To).toBe(sent.number);
    expect(req.form.From).toBe(FROM);
    expect(req.form.Body).toMatch(/\b\d{6}\b/);

    // 429 and 500: may pass later (the code request answers 503: try again).
    const limited = await setPhone();
    expect(limited.status).toBe(503);
    const failing = await setPhone();
    expect(failing.status).toBe(503);
    // Any other 4xx is a refusal for good.
    const refused = await setPhone();
    expect(refused.status).toBe(400);
    expect(refused.body.message).toMatch(/refused/);
    expect(twilio.requests).toHaveLength(4);
    // Nothing was written to the outbox: SMS_URL is set.
    expect(() => readdirSync(join(dataDir, 'outbox'))).toThrow();
  });

  it('a provider that is down is transient too (503), and no credential reaches the answer', async () => {
    const down = new TestTwilio();
    await down.start();
    const url = down.url(SID, TOKEN);
    await down.close();
    const other = await startTestApp({ SMS_URL: url, SMS_FROM: FROM });
    try {
      const c = new Client(other.baseUrl);
      await c.signUp('down@example.com');
      const res = await c.put('/contacts/phone', { number: '+4915199999999' });
      expect(res.status).toBe(503);
      expect(res.text).not.toContain(TOKEN);
      expect(res.text).not.toContain('127.0.0.1');
    } finally {
      await other.close();
    }
  });
});
