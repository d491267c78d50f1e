import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { TestApp } from './support/app.js';
import { startDeliveryApp } from './support/delivery-app.js';
import { Client } from './support/http.js';
import { adminClient, ITEMS, ITEMS_TOTAL, liveStream, received } from './support/shop.js';
import type { TestPushService } from './support/push-service.js';
import type { TestSmtpServer } from './support/smtp.js';
import { openStream } from './support/sse.js';

/*
 * Issue 23, languages: order notifications in the user's locale over the stream, in the inbox
 * and by email; broadcasts and API publishes with `translations`, each user seeing theirs.
 */
let t: TestApp;
let smtp: TestSmtpServer;
let push: TestPushService;
let admin: Client;

beforeAll(async () => {
  ({ t, smtp, push } = await startDeliveryApp({ ESCALATE_AFTER_MS: '600', CURRENCY: 'EUR' }));
  admin = await adminClient(t);
});
afterAll(async () => {
  await t?.close();
  await smtp?.close();
  await push?.close();
});

/** A user who signed up with this Accept-Language, signed in. */
async function userSpeaking(email: string, acceptLanguage: string): Promise<{ c: Client; id: string }> {
  const c = new Client(t.baseUrl);
  const reg = await c.request(
    'POST',
    '/auth/register',
    { email, password: 'password-123' },
    { headers: { 'accept-language': acceptLanguage } },
  );
  expect(reg.status).toBe(201);
  const login = await c.login(email);
  expect(login.status).toBe(200);
  return { c, id: login.body.user.id };
}

const euros = (minor: number, locale: string) =>
  new Intl.NumberFormat(locale, { style: 'currency', currency: 'EUR' }).format(minor / 100);

describe('order notifications in the user language', () => {
  it('a de user placing an order reads "Bestellung #…" over the stream and in the inbox, the amount as 48,48 €', async () => {
    const { c } = await userSpeaking('bestellung@example.com', 'de-DE,de;q=0.9');
    const conn = await liveStream(t, c);
    const order = await c.post('/orders', { items: ITEMS });
    expect(order.status).toBe(201);
    await conn.waitForNotifications(1);
    const [live] = received(conn);
    expect(live.json.title).toBe(`Bestellung #${order.body.id} aufgegeben`);
    expect(live.json.body).toBe(
      `2 Artikel, Summe ${euros(ITEMS_TOTAL, 'de')}. Sie wird versandt, sobald sie bezahlt ist.`,
    );
    expect(live.json.body.replace(/\s/g, ' ')).toContain('48,48 €');
    const inbox = await c.get('/notifications');
    expect(inbox.body.items[0].title).toBe(live.json.title);
    conn.close();
  });

  it('a de user without an open stream gets the order by email in German', async () => {
    const { c, id } = await userSpeaking('versand@example.com', 'de');
    const order = await c.post('/orders', { items: ITEMS });
    expect(order.status).toBe(201);
    const [placed] = await smtp.waitFor(1, 'versand@example.com');
    expect(placed.mail.subject).toBe(`Bestellung #${order.body.id} aufgegeben`);
    expect(placed.mail.text).toContain('Zum Posteingang');
    expect(placed.mail.text).toContain('Diese E-Mails abbestellen');
    expect(placed.mail.html).toContain('<html lang="de">');
    // Its time, in German, in the user's zone (none set: UTC, named).
    expect(placed.mail.text).toMatch(/\n\d{1,2}\. [A-Z][a-zä]+\.? \d{4}, \d{2}:\d{2} UTC\n/);
    const cancel = await admin.post(`/admin/orders/${order.body.id}/status`, { status: 'cancelled' });
    expect(cancel.status).toBe(200);
    const [, cancelled] = await smtp.waitFor(2, 'versand@example.com');
    expect(cancelled.mail.subject).toBe(`Bestellung #${order.body.id} storniert`);
    const rows = await t.db.query(`SELECT title FROM notifications WHERE user_id = $1 ORDER BY id`, [id]);
    expect(rows.rows.map((r: { title: string }) => r.title)).toStrictEqual([
      `Bestellung #${order.body.id} aufgegeben`,
      `Bestellung #${order.body.id} storniert`,
    ]);
  });

  it('a de user gets a digest of several as "3 neue Benachrichtigungen"', async () => {
    const { c } = await userSpeaking('digest-de@example.com', 'de');
    // Three orders at once: one escalation run, one digest.
    const orders = await Promise.all([1, 2, 3].map(() => c.post('/orders', { items: ITEMS })));
    for (const o of orders) expect(o.status).toBe(201);
    const [m] = await smtp.waitFor(1, 'digest-de@example.com');
    expect(m.mail.subject).toBe('3 neue Benachrichtigungen');
    for (const o of orders) expect(m.mail.text).toContain(`Bestellung #${o.body.id} aufgegeben`);
  });

  it('a fr-CA user reads French (fr-CA falls back to fr), amounts formatted for fr-CA', async () => {
    const { c } = await userSpeaking('commande@example.com', 'fr-CA,fr;q=0.8');
    expect((await c.get('/preferences')).body.locale).toBe('fr-CA');
    const conn = await liveStream(t, c);
    const order = await c.post('/orders', { items: ITEMS });
    await conn.waitForNotifications(1);
    const [live] = received(conn);
    expect(live.json.title).toBe(`Commande n° ${order.body.id} passée`);
    expect(live.json.body).toContain(euros(ITEMS_TOTAL, 'fr-CA'));
    conn.close();
  });

  it('a locale changed in preferences applies to the next notifications', async () => {
    const { c } = await userSpeaking('switch@example.com', 'en');
    expect((await c.put('/preferences', { locale: 'es' })).status).toBe(200);
    const order = await c.post('/orders', { items: ITEMS });
    const inbox = await c.get('/notifications');
    expect(inbox.body.items[0].title).toBe(`Pedido n.º ${order.body.id} realizado`);
  });
});

describe('translations of broadcasts and API publishes', () => {
  const translations = {
    de: { title: 'Wartung heute Nacht', body: 'Der Checkout ist von 2 bis 3 Uhr nicht erreichbar.' },
    'fr-ca': { title: 'Entretien ce soir', body: 'Le paiement sera indisponible de 2 h à 3 h.' },
  };

  it('a broadcast with translations shows German to a de user, the default to an en user, live and in the inbox', async () => {
    const de = await userSpeaking('broadcast-de@example.com', 'de-AT');
    const en = await userSpeaking('broadcast-en@example.com', 'en-US');
    const fr = await userSpeaking('broadcast-fr@example.com', 'fr-CA');
    const streams = await Promise.all([de, en, fr].map((u) => liveStream(t, u.c)));
    const sent = await admin.post('/admin/broadcasts', {
      title: 'Maintenance tonight',
      body: 'Checkout is unavailable from 02:00 to 03:00.',
      audience: { userIds: [de.id, en.id, fr.id] },
      translations,
    });
    expect(sent.status).toBe(201);
    await Promise.all(streams.map((s) => s.waitForNotifications(1)));
    const titles = streams.map((s) => received(s)[0].json.title);
    // de-AT sees the de text (its language); fr-CA its own (the key was canonicalised).
    expect(titles).toStrictEqual(['Wartung heute Nacht', 'Maintenance tonight', 'Entretien ce soir']);
    for (const [u, title] of [
      [de, 'Wartung heute Nacht'],
      [en, 'Maintenance tonight'],
      [fr, 'Entretien ce soir'],
    ] as const) {
      const item = (await u.c.get('/notifications')).body.items.find((n: { id: string }) => n.id === sent.body.id);
      expect(item.title).toBe(title);
    }
    streams.forEach((s) => s.close());
    const stored = await t.db.query(`SELECT translations FROM notifications WHERE id = $1`, [sent.body.id]);
    expect(Object.keys(stored.rows[0].translations).sort()).toStrictEqual(['de', 'fr-CA']);
    // The admin sees what was stored, keys canonical.
    expect(sent.body.translations).toStrictEqual({ de: translations.de, 'fr-CA': translations['fr-ca'] });
    const listed = (await admin.get('/admin/broadcasts')).body.items.find((b: { id: string }) => b.id === sent.body.id);
    expect(listed.translations).toStrictEqual(sent.body.translations);

    // Replayed after a reconnect (Last-Event-ID before it): in the viewer's language too.
    const replay = await openStream(t.baseUrl, de.c.cookieHeader, {
      lastEventId: String(BigInt(sent.body.id) - 1n),
    });
    await replay.waitForNotifications(1);
    expect(received(replay)[0].json.title).toBe('Wartung heute Nacht');
    replay.close();
  });

  it('a broadcast delivered by email reaches a de user in German, an en user in the default', async () => {
    const de = await userSpeaking('mail-broadcast-de@example.com', 'de');
    const en = await userSpeaking('mail-broadcast-en@example.com', 'en');
    const sent = await admin.post('/admin/broadcasts', {
      title: 'Maintenance tonight',
      body: 'Checkout is unavailable.',
      audience: { userIds: [de.id, en.id] },
      deliver: ['email'],
      translations: { de: { title: 'Wartung heute Nacht', body: 'Der Checkout ist nicht erreichbar.' } },
    });
    expect(sent.status).toBe(201);
    const [[toDe], [toEn]] = await Promise.all([
      smtp.waitFor(1, 'mail-broadcast-de@example.com'),
      smtp.waitFor(1, 'mail-broadcast-en@example.com'),
    ]);
    expect(toDe.mail.subject).toBe('Wartung heute Nacht');
    expect(toDe.mail.text).toContain('Der Checkout ist nicht erreichbar.');
    expect(toEn.mail.subject).toBe('Maintenance tonight');
    expect(toEn.mail.text).toContain('Open your inbox');
  });

  it('pushes come in the language too: an order rendered in German, a broadcast picked for a de user', async () => {
    const de = await userSpeaking('push-de@example.com', 'de');
    const sub = push.subscription();
    expect((await de.c.post('/push/subscriptions', { endpoint: sub.endpoint, keys: sub.keys })).status).toBe(201);
    const order = await de.c.post('/orders', { items: ITEMS });
    const [p] = await push.waitFor(1, (x) => x.endpoint === sub.endpoint);
    expect(p.payload.title).toBe(`Bestellung #${order.body.id} aufgegeben`);
    const sent = await admin.post('/admin/broadcasts', {
      title: 'Sale',
      body: 'Everything half price.',
      audience: { userIds: [de.id] },
      deliver: ['push'],
      translations: { de: { title: 'Ausverkauf', body: 'Alles zum halben Preis.' } },
    });
    expect(sent.status).toBe(201);
    const [, q] = await push.waitFor(2, (x) => x.endpoint === sub.endpoint);
    expect([q.payload.id, q.payload.title, q.payload.body]).toStrictEqual([
      sent.body.id,
      'Ausverkauf',
      'Alles zum halben Preis.',
    ]);
  });

  it('a locale changed in preferences shows the broadcast in the new language in the inbox', async () => {
    const u = await userSpeaking('broadcast-switch@example.com', 'en');
    const sent = await admin.post('/admin/broadcasts', {
      title: 'Hello',
      body: 'Default',
      audience: { userIds: [u.id] },
      translations: { de: { title: 'Hallo', body: 'Deutsch' } },
    });
    expect(sent.status).toBe(201);
    const title = async () =>
      (await u.c.get('/notifications')).body.items.find((n: { id: string }) => n.id === sent.body.id).title;
    expect(await title()).toBe('Hello');
    await u.c.put('/preferences', { locale: 'de' });
    expect(await title()).toBe('Hallo');
  });

  it('an open stream follows a change of locale for the broadcasts after it', async () => {
    const u = await userSpeaking('stream-switch@example.com', 'en');
    const conn = await liveStream(t, u.c);
    const send = (title: string) =>
      admin.post('/admin/broadcasts', {
        title,
        body: 'b',
        audience: { userIds: [u.id] },
        translations: { fr: { title: `${title} (fr)`, body: 'b' } },
      });
    expect((await send('Before')).status).toBe(201);
    await conn.waitForNotifications(1);
    expect((await u.c.put('/preferences', { locale: 'fr-CA' })).status).toBe(200);
    expect((await send('After')).status).toBe(201);
    await conn.waitForNotifications(2);
    expect(received(conn).map((n) => n.json.title)).toStrictEqual(['Before', 'After (fr)']);
    conn.close();
  });

  it.each([
    ['an unknown language', { xx: { title: 'a', body: 'b' } }],
    ['a malformed tag', { de_DE: { title: 'a', body: 'b' } }],
    ['an empty title', { de: { title: '', body: 'b' } }],
    ['no body', { de: { title: 'a' } }],
    ['another field', { de: { title: 'a', body: 'b', html: '<b>' } }],
    ['a title of 201 characters', { de: { title: 'x'.repeat(201), body: 'b' } }],
    ['a body of 10,001 characters', { de: { title: 'a', body: 'x'.repeat(10_001) } }],
    ['one locale twice', { 'fr-ca': { title: 'a', body: 'b' }, 'fr-CA': { title: 'a', body: 'b' } }],
    ['an array', ['de']],
    ['a string', 'de'],
  ])('bad translations (%s) are 400 with nothing written', async (_, bad) => {
    const before = (await t.db.query(`SELECT count(*)::int AS n FROM notifications`)).rows[0].n;
    const res = await admin.post('/admin/broadcasts', { title: 'T', body: 'B', translations: bad });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body.message)).toContain('translations must map BCP 47 locales');
    expect((await t.db.query(`SELECT count(*)::int AS n FROM notifications`)).rows[0].n).toBe(before);
  });

  it('an API publish to users writes each one in their language', async () => {
    const key = (await admin.post('/admin/api-keys', { name: 'i18n' })).body.key as string;
    const de = await userSpeaking('api-de@example.com', 'de-CH');
    const es = await userSpeaking('api-es@example.com', 'es');
    const res = await fetch(`${t.baseUrl}/v1/notifications`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        to: { userIds: [de.id, es.id] },
        channel: 'order',
        title: 'Back in stock',
        body: 'The kettle is back.',
        translations: { de: { title: 'Wieder da', body: 'Der Kessel ist wieder da.' } },
      }),
    });
    expect(res.status).toBe(201);
    expect((await de.c.get('/notifications')).body.items[0].title).toBe('Wieder da');
    expect((await es.c.get('/notifications')).body.items[0].title).toBe('Back in stock');

    const before = (await t.db.query(`SELECT count(*)::int AS n FROM notifications`)).rows[0].n;
    const bad = await fetch(`${t.baseUrl}/v1/notifications`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        to: { userIds: [de.id] },
        channel: 'order',
        title: 'T',
        body: 'B',
        translations: { zz: { title: 'a', body: 'b' } },
      }),
    });
    expect(bad.status).toBe(400);
    expect((await t.db.query(`SELECT count(*)::int AS n FROM notifications`)).rows[0].n).toBe(before);
  });

  it('an API publish to a topic stores the translations on its one row; each subscriber sees theirs', async () => {
    const key = (await admin.post('/admin/api-keys', { name: 'i18n-topic' })).body.key as string;
    const call = (method: string, path: string, body: unknown) =>
      fetch(`${t.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const fr = await userSpeaking('topic-fr@example.com', 'fr-BE');
    const en = await userSpeaking('topic-en@example.com', 'en');
    expect((await call('PUT', '/v1/topics/restock.kettle/subscribers', { userIds: [fr.id, en.id] })).status).toBe(204);
    const res = await call('POST', '/v1/notifications', {
      to: { topic: 'restock.kettle' },
      channel: 'order',
      title: 'Back in stock',
      body: 'The kettle is back.',
      translations: { FR: { title: 'De retour', body: 'La bouilloire est de retour.' } },
    });
    expect(res.status).toBe(201);
    const [id] = ((await res.json()) as { ids: string[] }).ids;
    const titleFor = async (u: { c: Client }) =>
      (await u.c.get('/notifications')).body.items.find((n: { id: string }) => n.id === id).title;
    expect(await titleFor(fr)).toBe('De retour');
    expect(await titleFor(en)).toBe('Back in stock');
    const stored = await t.db.query(`SELECT user_id, translations FROM notifications WHERE id = $1`, [id]);
    expect(stored.rows[0]).toStrictEqual({
      user_id: null,
      translations: { fr: { title: 'De retour', body: 'La bouilloire est de retour.' } },
    });
  });
});
