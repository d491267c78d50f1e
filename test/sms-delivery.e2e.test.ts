import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHmac } from 'node:crypto';
import { startTestApp, type TestApp } from './support/app.js';
import { Client } from './support/http.js';
import { deliveryStatuses, publishTo } from './support/publish.js';
import { adminClient } from './support/shop.js';
import { TestTwilio } from './support/twilio.js';
import { until } from './support/until.js';
import { CHANNELS } from '../client/registry.js';

/*
 * SMS as a delivery method, end to end, with a Twilio stand-in on loopback: verified phones only,
 * one SMS per escalation run, the delivery log, 429/5xx retried, broadcasts' deliver, metrics;
 * and Twilio's signed inbound STOP.
 */
const SID = 'ACfeedfacefeedfacefeedfacefeedface';
const TOKEN = 'sms-auth-token-0123456789';
const PUBLIC_URL = 'https://notify.example.test';
let t: TestApp;
let twilio: TestTwilio;
let n = 0;

beforeAll(async () => {
  twilio = new TestTwilio();
  await twilio.start();
  t = await startTestApp({
    ESCALATE_AFTER_MS: '300',
    PUBLIC_URL,
    SMS_URL: twilio.url(SID, TOKEN),
    SMS_FROM: '+15005550006',
  });
});
afterAll(async () => {
  await t?.close();
  await twilio?.close();
});

const sentTo = (number: string) => twilio.requests.filter((r) => r.form.To === number);

async function waitForSms(number: string, count: number) {
  while (sentTo(number).length < count) await twilio.received(twilio.requests.length + 1);
  return sentTo(number);
}

/** A user with a verified phone (and SMS not yet switched on). */
async function verifiedUser(): Promise<{ c: Client; id: string; number: string }> {
  const c = new Client(t.baseUrl);
  const { id } = await c.signUp(`sms-${++n}@example.com`);
  const number = `+4916000000${String(n).padStart(2, '0')}`;
  expect((await c.put('/contacts/phone', { number })).status).toBe(202);
  const [codeSms] = await waitForSms(number, 1);
  const code = /\b(\d{6})\b/.exec(codeSms.form.Body)![1];
  expect((await c.post('/contacts/phone/verify', { code })).status).toBe(200);
  return { c, id, number };
}

const smsOn = (c: Client, channels = CHANNELS) =>
  c.put('/preferences', { delivery: Object.fromEntries(channels.map((ch) => [ch, { sms: true }])) });

const smsDeliveries = async (userId: string) =>
  (
    await t.db.query(
      `SELECT notification_id::text, status, attempts, error FROM deliveries WHERE user_id = $1 AND method = 'sms' ORDER BY notification_id`,
      [userId],
    )
  ).rows as Array<{ notification_id: string; status: string; attempts: number; error: string | null }>;

const settled = (rows: Array<{ status: string }>) =>
  rows.length > 0 && rows.every((r) => !['scheduled', 'sending'].includes(r.status));

describe('sms as a delivery method', () => {
  it('is off by default; switching it on needs a verified phone (400, nothing changed)', async () => {
    const c = new Client(t.baseUrl);
    await c.signUp(`sms-${++n}@example.com`);
    const before = await c.get('/preferences');
    for (const ch of CHANNELS) expect(before.body.delivery[ch].sms).toBe(false);
    const refused = await smsOn(c, ['order']);
    expect(refused.status).toBe(400);
    expect(refused.body.message).toMatch(/verified phone/);
    // A phone set but not verified is not enough either.
    expect((await c.put('/contacts/phone', { number: '+4916099999999' })).status).toBe(202);
    expect((await smsOn(c, ['order'])).status).toBe(400);
    expect((await c.get('/preferences')).body).toEqual(before.body);
  });

  it('one SMS per run: a digest with the count, the newest title and the inbox link; every row logged sent', async () => {
    const { c, id, number } = await verifiedUser();
    expect((await smsOn(c)).status).toBe(200);
    await publishTo(t, id, { title: 'First' });
    await publishTo(t, id, { channel: 'payment', type: 'payment.pending', title: 'Second' });
    await publishTo(t, id, { title: 'Third' });
    const log = await until(
      'sms sent',
      () => smsDeliveries(id),
      (r) => r.length === 3 && settled(r),
    );
    expect(log.map((r) => r.status)).toEqual(['sent', 'sent', 'sent']);
    const sms = sentTo(number).slice(1);
    expect(sms).toHaveLength(1);
    expect(sms[0].form.Body).toBe(`3 new notifications. Newest: Third\n${PUBLIC_URL}/`);
    expect(sms[0].form.From).toBe('+15005550006');
    const mine = await c.get(`/notifications/${log[0].notification_id}/deliveries`);
    expect(mine.body.map((d: { method: string }) => d.method)).toContain('sms');
  });

  it("in the user's language: the code and the digest's count, with its plural (de)", async () => {
    const c = new Client(t.baseUrl);
    const { id } = await c.signUp(`sms-${++n}@example.com`);
    expect((await c.put('/preferences', { locale: 'de' })).status).toBe(200);
    const number = `+4916000000${String(n).padStart(2, '0')}`;
    expect((await c.put('/contacts/phone', { number })).status).toBe(202);
    const [codeSms] = await waitForSms(number, 1);
    expect(codeSms.form.Body).toMatch(/^Ihr Bestätigungscode lautet \d{6}\. Er ist 10 Minuten gültig\.$/);
    const code = /\b(\d{6})\b/.exec(codeSms.form.Body)![1];
    expect((await c.post('/contacts/phone/verify', { code })).status).toBe(200);
    expect((await smsOn(c)).status).toBe(200);
    await publishTo(t, id, { title: 'Erste' });
    await publishTo(t, id, { title: 'Zweite' });
    await until(
      'sms sent',
      () => smsDeliveries(id),
      (r) => r.length === 2 && settled(r),
    );
    expect(
      sentTo(number)
        .slice(1)
        .map((r) => r.form.Body),
    ).toStrictEqual([`2 neue Benachrichtigungen. Neueste: Zweite\n${PUBLIC_URL}/`]);
  });

  it('a single notification: its title and body; 429 and 500 are retried, then it is sent once', async () => {
    const { c, id, number } = await verifiedUser();
    expect((await smsOn(c, ['order'])).status).toBe(200);
    twilio.answers = [429, 500];
    await publishTo(t, id, { title: 'Order #7 shipped', body: 'It is on its way.' });
    const [row] = await until('sent after retries', () => smsDeliveries(id), settled);
    expect(row).toMatchObject({ status: 'sent', attempts: 3 });
    const sms = sentTo(number).slice(1);
    expect(sms.map((m) => m.form.Body)).toEqual(Array(3).fill(`Order #7 shipped: It is on its way.\n${PUBLIC_URL}/`));
  });

  it('a 400 from the provider fails the delivery for good', async () => {
    const { c, id } = await verifiedUser();
    expect((await smsOn(c, ['order'])).status).toBe(200);
    twilio.answers = [400];
    await publishTo(t, id, { title: 'Refused' });
    const [row] = await until('failed', () => smsDeliveries(id), settled);
    expect(row).toMatchObject({ status: 'failed', attempts: 1 });
    expect(row.error).toMatch(/400/);
  });

  it('goes only to a verified number: a phone changed since gets nothing', async () => {
    const { c, id, number } = await verifiedUser();
    expect((await smsOn(c, ['order'])).status).toBe(200);
    const other = `+4916100000${String(n).padStart(2, '0')}`;
    expect((await c.put('/contacts/phone', { number: other })).status).toBe(202);
    const row = await publishTo(t, id, { title: 'Not by SMS' });
    // Email (on by default) settles; no SMS row was ever made for an unverified phone.
    await until('email settled', () => deliveryStatuses(t, row.id), settled);
    expect(await smsDeliveries(id)).toEqual([]);
    expect(sentTo(number)).toHaveLength(1);
    expect(sentTo(other)).toHaveLength(1); // its code only
  });

  it("broadcasts' deliver may name sms; metrics count it", async () => {
    const admin = await adminClient(t);
    const { c, id, number } = await verifiedUser();
    expect((await smsOn(c, ['system'])).status).toBe(200);
    const sent = await admin.post('/admin/broadcasts', {
      title: 'Maintenance tonight',
      body: 'Checkout pauses at 02:00.',
      audience: { userIds: [id] },
      deliver: ['sms'],
    });
    expect(sent.status).toBe(201);
    const [m] = (await waitForSms(number, 2)).slice(1);
    expect(m.form.Body).toBe(`Maintenance tonight: Checkout pauses at 02:00.\n${PUBLIC_URL}/`);
    await until('logged', () => smsDeliveries(id), settled);
    const metrics = await (await fetch(`${t.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/notifications_deliveries\{method="sms",status="sent"\} [1-9]/);
  });
});

describe('inbound SMS (POST /sms/inbound)', () => {
  /** Twilio's algorithm, written out here on its own: the URL, then the fields sorted by name. */
  const sign = (fields: Record<string, string>, token = TOKEN) =>
    createHmac('sha1', token)
      .update(
        `${PUBLIC_URL}/sms/inbound` +
          Object.keys(fields)
            .sort()
            .map((k) => k + fields[k])
            .join(''),
      )
      .digest('base64');

  const inbound = (fields: Record<string, string>, signature?: string) =>
    fetch(`${t.baseUrl}/sms/inbound`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(signature === undefined ? {} : { 'x-twilio-signature': signature }),
      },
      body: new URLSearchParams(fields).toString(),
    });

  const smsPrefs = async (c: Client): Promise<boolean[]> => {
    const delivery = (await c.get('/preferences')).body.delivery as Record<string, { sms: boolean }>;
    return CHANNELS.map((ch) => delivery[ch].sms);
  };

  it('STOP (any case, trimmed) with a valid signature switches SMS off for every channel', async () => {
    const { c, number } = await verifiedUser();
    expect((await smsOn(c)).status).toBe(200);
    const fields = { MessageSid: 'SM1', AccountSid: SID, From: number, To: '+15005550006', Body: '  stop ' };
    const res = await inbound(fields, sign(fields));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/xml/);
    expect(await res.text()).toMatch(/<Response\/>$/);
    for (const on of await smsPrefs(c)) expect(on).toBe(false);
    // Email and push are untouched.
    expect((await c.get('/preferences')).body.delivery.order.email).toBe(true);
  });

  it('every opt-out keyword works; START switches nothing on', async () => {
    for (const word of ['STOPALL', 'Unsubscribe', 'cancel', 'END', 'quit']) {
      const { c, number } = await verifiedUser();
      expect((await smsOn(c)).status).toBe(200);
      const fields = { From: number, Body: word };
      expect((await inbound(fields, sign(fields))).status).toBe(200);
      for (const on of await smsPrefs(c)) expect(on).toBe(false);
      const start = { From: number, Body: 'START' };
      expect((await inbound(start, sign(start))).status).toBe(200);
      for (const on of await smsPrefs(c)) expect(on).toBe(false);
    }
  });

  it('refuses a wrong or missing signature with 403 and changes nothing', async () => {
    const { c, number } = await verifiedUser();
    expect((await smsOn(c)).status).toBe(200);
    const fields = { From: number, Body: 'STOP' };
    expect((await inbound(fields)).status).toBe(403);
    expect((await inbound(fields, sign(fields, 'another-token'))).status).toBe(403);
    expect((await inbound(fields, sign({ ...fields, Body: 'HELLO' }))).status).toBe(403);
    expect((await inbound({ ...fields, Extra: 'x' }, sign(fields))).status).toBe(403);
    for (const on of await smsPrefs(c)) expect(on).toBe(true);
    // Any other text, signed, changes nothing either.
    const hello = { From: number, Body: 'STOP please' };
    expect((await inbound(hello, sign(hello))).status).toBe(200);
    for (const on of await smsPrefs(c)) expect(on).toBe(true);
  });
});
