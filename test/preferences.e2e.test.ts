import { describe, expect, it } from '@jest/globals';
import { sharedTestApp } from './support/app.js';
import { DEFAULT_CHANNELS, DEFAULT_DELIVERY } from './support/registry.js';
import { signedIn } from './support/shop.js';

const t = sharedTestApp();

const ALL_ON = { channels: DEFAULT_CHANNELS, delivery: DEFAULT_DELIVERY, quietHours: null, locale: 'en' };

const stored = async (id: string) =>
  (await t.db.query(`SELECT * FROM notification_preferences WHERE user_id = $1`, [id])).rows[0] as
    Record<string, unknown> | undefined;

describe('delivery preferences', () => {
  it('default to every method on and no quiet hours', async () => {
    const { client: c } = await signedIn(t, 'prefs-default@example.com');
    const got = await c.get('/preferences');
    expect(got.status).toBe(200);
    expect(got.body).toStrictEqual(ALL_ON);
  });

  it('PUT changes any subset and keeps the rest', async () => {
    const { client: c } = await signedIn(t, 'prefs-subset@example.com');
    let put = await c.put('/preferences', { delivery: { order: { email: false } } });
    expect(put.status).toBe(200);
    expect(put.body.delivery.order).toStrictEqual({ ...DEFAULT_DELIVERY.order, email: false });
    put = await c.put('/preferences', {
      channels: { system: false },
      delivery: { payment: { push: false } },
      quietHours: { start: '22:00', end: '07:00', timeZone: 'Europe/Berlin' },
    });
    expect(put.status).toBe(200);
    const expected = {
      channels: { ...DEFAULT_CHANNELS, system: false },
      delivery: {
        ...DEFAULT_DELIVERY,
        order: { ...DEFAULT_DELIVERY.order, email: false },
        payment: { ...DEFAULT_DELIVERY.payment, push: false },
      },
      quietHours: { start: '22:00', end: '07:00', timeZone: 'Europe/Berlin' },
      locale: 'en',
    };
    expect(put.body).toStrictEqual(expected);
    expect((await c.get('/preferences')).body).toStrictEqual(expected);
    // Switching a method back on and removing the quiet hours.
    put = await c.put('/preferences', { delivery: { order: { email: true } }, quietHours: null });
    expect(put.body.delivery.order).toStrictEqual(DEFAULT_DELIVERY.order);
    expect(put.body.quietHours).toBe(null);
    expect(put.body.channels.system).toBe(false);
  });

  it('stores a time zone in its canonical spelling, however it was typed (issue 19, finding 6)', async () => {
    const { client: c, id } = await signedIn(t, 'prefs-tz@example.com');
    for (const [typed, canonical] of [
      ['europe/berlin', 'Europe/Berlin'],
      ['AMERICA/NEW_YORK', 'America/New_York'],
      ['US/Pacific', 'America/Los_Angeles'],
      ['utc', 'UTC'],
    ]) {
      const put = await c.put('/preferences', { quietHours: { start: '22:00', end: '07:00', timeZone: typed } });
      expect([typed, put.status, put.body.quietHours.timeZone]).toStrictEqual([typed, 200, canonical]);
      const row = await t.db.query(`SELECT quiet_tz FROM notification_preferences WHERE user_id = $1`, [id]);
      expect(row.rows).toStrictEqual([{ quiet_tz: canonical }]);
    }
  });

  it('refuses unknown zones, malformed times and unknown fields with 400, storing nothing', async () => {
    const { client: c, id } = await signedIn(t, 'prefs-bad@example.com');
    await c.put('/preferences', { quietHours: { start: '23:00', end: '06:30', timeZone: 'America/New_York' } });
    const before = await stored(id);
    const bad: unknown[] = [
      { quietHours: { start: '22:00', end: '07:00', timeZone: 'Mars/Olympus_Mons' } },
      { quietHours: { start: '22:00', end: '07:00', timeZone: '' } },
      { quietHours: { start: '24:00', end: '07:00', timeZone: 'UTC' } },
      { quietHours: { start: '7:00', end: '22:00', timeZone: 'UTC' } },
      { quietHours: { start: '22:00', end: '22:00', timeZone: 'UTC' } },
      { quietHours: { start: '22:00', timeZone: 'UTC' } },
      { quietHours: { start: '22:00', end: '07:00', timeZone: 'UTC', extra: 1 } },
      { quietHours: 'always' },
      { delivery: { order: { sms: true } } },
      { delivery: { order: { email: 'yes' } } },
      { delivery: { fax: { email: true } } },
      { channels: { order: false }, delivery: { order: { push: 1 } } },
    ];
    for (const body of bad) {
      const answer = await c.put('/preferences', body);
      expect([answer.status, body]).toStrictEqual([400, body]);
      expect(typeof answer.body.message).toBe('string');
    }
    expect(await stored(id)).toStrictEqual(before);
    expect((await c.get('/preferences')).body.quietHours).toStrictEqual({
      start: '23:00',
      end: '06:30',
      timeZone: 'America/New_York',
    });
  });

  it('PUT with no field (the empty subset) answers the whole preferences and changes nothing', async () => {
    const { client: c, id } = await signedIn(t, 'prefs-empty@example.com');
    const set = await c.put('/preferences', { channels: { payment: false }, locale: 'de' });
    const before = await stored(id);
    const put = await c.put('/preferences', {});
    expect([put.status, put.body]).toStrictEqual([200, set.body]);
    expect(await stored(id)).toStrictEqual(before);
  });

  it('are per user', async () => {
    const a = await signedIn(t, 'prefs-a@example.com');
    const b = await signedIn(t, 'prefs-b@example.com');
    await a.client.put('/preferences', { delivery: { order: { push: false } } });
    expect((await b.client.get('/preferences')).body).toStrictEqual(ALL_ON);
  });
});
