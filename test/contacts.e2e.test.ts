import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestApp, type TestApp } from './support/app.js';
import { Client } from './support/http.js';
import { codeSentTo, outboxSms } from './support/sms-outbox.js';
import { tempDirs } from './support/temp-dirs.js';

/* The phone of GET/PUT/DELETE /contacts, without SMS_URL: codes are read from DATA_DIR/outbox. */
const tempDir = tempDirs('notif-contacts-');
let t: TestApp;
let dataDir: string;
let n = 0;

beforeAll(async () => {
  dataDir = tempDir();
  t = await startTestApp({ DATA_DIR: dataDir });
});
afterAll(async () => {
  await t?.close();
});

async function user(): Promise<{ c: Client; id: string; number: string }> {
  const c = new Client(t.baseUrl);
  const { id } = await c.signUp(`contacts-${++n}@example.com`);
  return { c, id, number: `+4917000000${String(n).padStart(2, '0')}` };
}

describe('contacts', () => {
  it('answers no phone and no chat at first; needs a session and the CSRF token', async () => {
    const { c } = await user();
    expect((await c.get('/contacts')).body).toEqual({ phone: null, chat: [] });
    const anonymous = new Client(t.baseUrl);
    expect((await anonymous.get('/contacts')).status).toBe(401);
    expect((await c.put('/contacts/phone', { number: '+4917000000' }, { csrf: false })).status).toBe(403);
  });

  it('refuses a number that is not E.164 with 400 and stores nothing', async () => {
    const { c, id } = await user();
    for (const number of [
      '4917012345678',
      '+1234567',
      '+1234567890123456',
      '+49 170 1234567',
      '+49170abc123',
      12345678,
      '',
    ]) {
      const res = await c.put('/contacts/phone', { number });
      expect(res.status).toBe(400);
    }
    expect((await c.put('/contacts/phone', {})).status).toBe(400);
    const rows = await t.db.query(`SELECT 1 FROM user_phones WHERE user_id = $1`, [id]);
    expect(rows.rowCount).toBe(0);
    expect(outboxSms(dataDir).length).toBe(0);
  });

  it('texts a 6-digit code, stored only hashed, and verifies the number with it', async () => {
    const { c, id, number } = await user();
    const put = await c.put('/contacts/phone', { number });
    expect(put.status).toBe(202);
    expect(put.body).toEqual({ number, verified: false });
    const code = await codeSentTo(dataDir, number, 1);
    expect(code).toMatch(/^\d{6}$/);
    const sms = outboxSms(dataDir).find((m) => m.to === number)!;
    expect(sms.body).toContain('expires in 10 minutes');
    expect(existsSync(join(dataDir, 'outbox', sms.file.replace(/\.json$/, '.txt')))).toBe(true);
    expect(readFileSync(join(dataDir, 'outbox', sms.file.replace(/\.json$/, '.txt')), 'utf8')).toContain(
      `To: ${number}`,
    );

    const [row] = (await t.db.query(`SELECT * FROM user_phones WHERE user_id = $1`, [id])).rows;
    expect(JSON.stringify(row)).not.toContain(code);
    const expiresIn = new Date(row.code_expires_at).getTime() - Date.now();
    expect(expiresIn).toBeGreaterThan(9 * 60_000);
    expect(expiresIn).toBeLessThanOrEqual(10 * 60_000);

    expect((await c.get('/contacts')).body).toEqual({ phone: { number, verified: false }, chat: [] });
    const wrong = code === '000000' ? '000001' : '000000';
    expect((await c.post('/contacts/phone/verify', { code: wrong })).status).toBe(400);
    expect((await c.post('/contacts/phone/verify', { code: 'abcdef' })).status).toBe(400);
    const ok = await c.post('/contacts/phone/verify', { code });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ number, verified: true });
    expect((await c.get('/contacts')).body).toEqual({ phone: { number, verified: true }, chat: [] });
  });

  it('voids a code after 5 wrong tries', async () => {
    const { c, number } = await user();
    expect((await c.put('/contacts/phone', { number })).status).toBe(202);
    const code = await codeSentTo(dataDir, number, 1);
    const wrong = code === '999999' ? '999998' : '999999';
    for (let i = 0; i < 5; i++) expect((await c.post('/contacts/phone/verify', { code: wrong })).status).toBe(400);
    const late = await c.post('/contacts/phone/verify', { code });
    expect(late.status).toBe(400);
    expect(late.body.message).toMatch(/no valid code/i);
    expect((await c.get('/contacts')).body.phone).toEqual({ number, verified: false });
  });

  it('refuses a code older than 10 minutes', async () => {
    const { c, id, number } = await user();
    expect((await c.put('/contacts/phone', { number })).status).toBe(202);
    const code = await codeSentTo(dataDir, number, 1);
    // As if 10 minutes had passed since it was sent.
    await t.db.query(`UPDATE user_phones SET code_expires_at = now() - interval '1 second' WHERE user_id = $1`, [id]);
    expect((await c.post('/contacts/phone/verify', { code })).status).toBe(400);
  });

  it('sends at most 3 codes per user an hour, removing the phone in between or not', async () => {
    const { c, id, number } = await user();
    for (let i = 0; i < 3; i++) expect((await c.put('/contacts/phone', { number })).status).toBe(202);
    expect((await c.put('/contacts/phone', { number })).status).toBe(429);
    expect((await c.request('DELETE', '/contacts/phone')).status).toBe(204);
    expect((await c.put('/contacts/phone', { number: '+4917099999999' })).status).toBe(429);
    expect(outboxSms(dataDir).filter((m) => m.to === number)).toHaveLength(3);
    // Another user is not held back by this one.
    const other = await user();
    expect((await other.c.put('/contacts/phone', { number: other.number })).status).toBe(202);
    // An hour later the oldest no longer counts.
    await t.db.query(
      `UPDATE phone_codes_sent SET sent_at = now() - interval '61 minutes'
        WHERE ctid = (SELECT ctid FROM phone_codes_sent WHERE user_id = $1 ORDER BY sent_at LIMIT 1)`,
      [id],
    );
    expect((await c.put('/contacts/phone', { number })).status).toBe(202);
    expect((await c.put('/contacts/phone', { number })).status).toBe(429);
  });

  it('keeps each user to their own phone', async () => {
    const a = await user();
    const b = await user();
    expect((await a.c.put('/contacts/phone', { number: a.number })).status).toBe(202);
    const code = await codeSentTo(dataDir, a.number, 1);
    expect((await b.c.get('/contacts')).body.phone).toBeNull();
    expect((await b.c.post('/contacts/phone/verify', { code })).status).toBe(404);
    expect((await b.c.request('DELETE', '/contacts/phone')).status).toBe(204);
    // B sets the same number: A's code does not verify it for B.
    expect((await b.c.put('/contacts/phone', { number: a.number })).status).toBe(202);
    const bCode = await codeSentTo(dataDir, a.number, 2);
    if (bCode !== code) expect((await b.c.post('/contacts/phone/verify', { code })).status).toBe(400);
    expect((await a.c.post('/contacts/phone/verify', { code })).body).toEqual({ number: a.number, verified: true });
    expect((await b.c.get('/contacts')).body.phone).toEqual({ number: a.number, verified: false });
    expect((await b.c.request('DELETE', '/contacts/phone')).status).toBe(204);
    expect((await a.c.get('/contacts')).body.phone).toEqual({ number: a.number, verified: true });
    expect((await b.c.get('/contacts')).body.phone).toBeNull();
  });

  it('DELETE /contacts/phone removes it', async () => {
    const { c, number } = await user();
    expect((await c.put('/contacts/phone', { number })).status).toBe(202);
    expect((await c.request('DELETE', '/contacts/phone')).status).toBe(204);
    expect((await c.get('/contacts')).body).toEqual({ phone: null, chat: [] });
    expect((await c.post('/contacts/phone/verify', { code: '123456' })).status).toBe(404);
  });
});
