import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { formatDateTime, formatMoney, LANGUAGES, localesIn, translator } from '../src/common/i18n.js';
import { chatMessage } from '../src/delivery/methods/chat/chat-formats.js';
import { subjectOf } from '../src/delivery/methods/email/mailer.js';
import { smsText } from '../src/delivery/methods/sms/sms-text.js';
import { EventCatalogue } from '../src/events/domain-events.js';
import { canonicalTranslations, isTranslations } from '../src/events/translations.dto.js';
import { localized, type NotificationJson, type NotificationRow } from '../src/notifications/notification.types.js';
import { SOURCES } from '../src/sources.js';
import '../src/orders/order.events.js';
import '../src/payments/payment.events.js';

const src = new URL('../src/', import.meta.url).pathname;

/** Every `locales/` folder under src/: the renderers that speak several languages. */
function localeFolders(dir = src): string[] {
  const entries = readdirSync(dir, { withFileTypes: true });
  return entries.flatMap((e) => {
    if (!e.isDirectory()) return [];
    const path = join(dir, e.name);
    return e.name === 'locales' ? [path] : localeFolders(path);
  });
}

/** "a.b_one" → ["a.b", "one"]; a key without a plural suffix → [key, null]. */
const PLURAL = /^(.*)_(zero|one|two|few|many|other)$/;
function flatKeys(messages: object, prefix = ''): string[] {
  return Object.entries(messages).flatMap(([k, v]) =>
    typeof v === 'object' && v !== null ? flatKeys(v, `${prefix}${k}.`) : [`${prefix}${k}`],
  );
}

describe('translation files', () => {
  const folders = localeFolders();

  it('are found where the renderers are', () => {
    expect(folders.map((f) => relative(src, f)).sort()).toStrictEqual([
      'contacts/locales',
      'delivery/methods/chat/locales',
      'delivery/methods/email/locales',
      'delivery/methods/sms/locales',
      'orders/locales',
      'payments/locales',
    ]);
  });

  it.each(localeFolders().map((f) => [relative(src, f)]))(
    '%s: every shipped language has every key of en, with every plural form the language needs, and no other',
    (folder) => {
      const files = readdirSync(join(src, folder)).sort();
      expect(files).toStrictEqual(LANGUAGES.map((l) => `${l}.json`).sort());
      const read = (language: string) =>
        flatKeys(JSON.parse(readFileSync(join(src, folder, `${language}.json`), 'utf8')) as object);
      const base = (keys: string[]) => new Set(keys.map((k) => PLURAL.exec(k)?.[1] ?? k));
      const english = base(read('en'));
      const plurals = new Set(read('en').flatMap((k) => PLURAL.exec(k)?.[1] ?? []));
      for (const language of LANGUAGES) {
        const keys = read(language);
        expect([language, [...base(keys)].sort()]).toStrictEqual([language, [...english].sort()]);
        const categories = new Intl.PluralRules(language).resolvedOptions().pluralCategories;
        for (const key of plurals) {
          const forms = keys.filter((k) => PLURAL.exec(k)?.[1] === key).map((k) => PLURAL.exec(k)![2]);
          expect([language, key, forms.sort()]).toStrictEqual([language, key, [...categories].sort()]);
        }
        for (const key of keys)
          expect([language, key, PLURAL.test(key) || !plurals.has(key)]).toStrictEqual([language, key, true]);
      }
    },
  );

  it('a key missing in one language is what the test above catches (it would fall back to en silently)', () => {
    const t = translator({ en: { a: 'A', b: 'B' }, de: { a: 'Ä' } });
    expect(t('de')('b')).toBe('B');
  });
});

const notifications = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ id: String(i + 1), title: `T${i}`, body: '' }) as NotificationJson);

describe('digest plurals per locale', () => {
  /** A renderer's own texts, from its files, as it loads them. */
  const textsOf = (folder: string) => translator(localesIn(new URL(`${folder}/locales/`, new URL(`file://${src}`))));

  it.each([
    ['en', ['1 new notification', '2 new notifications', '5 new notifications', '21 new notifications']],
    [
      'de',
      [
        '1 neue Benachrichtigung',
        '2 neue Benachrichtigungen',
        '5 neue Benachrichtigungen',
        '21 neue Benachrichtigungen',
      ],
    ],
    [
      'fr',
      [
        '1 nouvelle notification',
        '2 nouvelles notifications',
        '5 nouvelles notifications',
        '21 nouvelles notifications',
      ],
    ],
    ['es', ['1 notificación nueva', '2 notificaciones nuevas', '5 notificaciones nuevas', '21 notificaciones nuevas']],
    // Polish: one, few, many, many (21 is not "one": only 1 is).
    ['pl', ['1 nowe powiadomienie', '2 nowe powiadomienia', '5 nowych powiadomień', '21 nowych powiadomień']],
  ])('%s: the digest count of email, chat and SMS for 1, 2, 5 and 21', (locale, expected) => {
    const counts = [1, 2, 5, 21];
    expect(counts.map((count) => textsOf('delivery/methods/email')(locale)('subject', { count }))).toStrictEqual(
      expected,
    );
    expect(counts.map((count) => textsOf('delivery/methods/chat')(locale)('count', { count }))).toStrictEqual(expected);
    const sms = counts.map((count) => textsOf('delivery/methods/sms')(locale)('digest', { count, title: 'x' }));
    sms.forEach((text, i) => expect(text.startsWith(expected[i])).toBe(true));
    // As the chat renderer writes it.
    const discord = chatMessage('discord', { items: notifications(21), inboxUrl: 'https://x/', locale });
    expect((discord.content as string).startsWith(`${expected[3]} (`)).toBe(true);
  });

  it('email subjects: the one title, else the count with the plural of the locale', () => {
    expect(subjectOf(notifications(1), 'de')).toBe('T0');
    expect([2, 5, 21].map((n) => subjectOf(notifications(n), 'de'))).toStrictEqual([
      '2 neue Benachrichtigungen',
      '5 neue Benachrichtigungen',
      '21 neue Benachrichtigungen',
    ]);
    // fr-CA falls back to fr; a language not shipped (pt) to en.
    expect(subjectOf(notifications(21), 'fr-CA')).toBe('21 nouvelles notifications');
    expect(subjectOf(notifications(2), 'pt-BR')).toBe('2 new notifications');
    // French "many" (1,000,000 and up) has its own form: without it i18next would fall back to en.
    expect(subjectOf(new Array<NotificationJson>(1_000_000), 'fr')).toBe('1000000 de nouvelles notifications');
  });

  it('Polish: 22 is "few" again, 12 to 14 are "many"; an order of 22 items agrees', () => {
    expect([22, 12, 14, 104].map((n) => subjectOf(new Array<NotificationJson>(n), 'pl'))).toStrictEqual([
      '22 nowe powiadomienia',
      '12 nowych powiadomień',
      '14 nowych powiadomień',
      '104 nowe powiadomienia',
    ]);
    const catalogue = new EventCatalogue(
      SOURCES.map((x) => x.events),
      'PLN',
    );
    const placed = (itemCount: number) =>
      catalogue.personal(
        { type: 'order.placed', recipient: '7', payload: { orderId: '9', total: 12345, itemCount } },
        'pl',
      ).body;
    expect(placed(1)).toMatch(/^1 produkt, razem 123,45\szł\. /);
    expect(placed(22)).toMatch(/^22 produkty, /);
    expect(placed(25)).toMatch(/^25 produktów, /);
  });

  it('French counts 0 and 1 as singular, English 0 as plural', () => {
    const fr = translator({
      en: { n_one: 'one', n_other: 'other' },
      fr: { n_one: 'one', n_many: 'many', n_other: 'other' },
    });
    expect([0, 1, 2].map((count) => fr('fr')('n', { count }))).toStrictEqual(['one', 'one', 'other']);
    expect([0, 1, 2].map((count) => fr('en')('n', { count }))).toStrictEqual(['other', 'one', 'other']);
  });

  it('SMS digests in the locale', () => {
    const row = (id: string, title: string) =>
      ({ id, title, body: 'b', translations: null }) as unknown as NotificationRow;
    expect(smsText([row('1', 'A'), row('2', 'B')], 'https://x/', 'de')).toBe(
      '2 neue Benachrichtigungen. Neueste: B\nhttps://x/',
    );
    expect(smsText([row('1', 'A'), row('2', 'B')], 'https://x/', 'es-MX')).toBe(
      '2 notificaciones nuevas. La más reciente: B\nhttps://x/',
    );
  });
});

describe('order and payment notifications', () => {
  const catalogue = new EventCatalogue(
    SOURCES.map((s) => s.events),
    'EUR',
  );
  const placed = {
    type: 'order.placed' as const,
    recipient: '7',
    payload: { orderId: '1001', total: 4848, itemCount: 2 },
  };

  it('render in the recipient locale, amounts formatted for it; fr-CA falls back to fr, others to en', () => {
    const de = catalogue.personal(placed, 'de');
    expect(de.title).toBe('Bestellung #1001 aufgegeben');
    expect(de.body.replace(/\s/g, ' ')).toContain('48,48 €');
    expect(catalogue.personal(placed, 'fr-CA').title).toBe('Commande n° 1001 passée');
    expect(catalogue.personal(placed, 'es').title).toBe('Pedido n.º 1001 realizado');
    expect(catalogue.personal(placed, 'ja').title).toBe('Order #1001 placed');
    expect(catalogue.personal(placed, 'en').body).toBe('2 items, total €48.48. It ships once it is paid.');
    const one = { ...placed, payload: { ...placed.payload, itemCount: 1 } };
    expect(catalogue.personal(one, 'en').body).toMatch(/^1 item, /);
    const failed = catalogue.personal(
      { type: 'payment.failed', recipient: '7', payload: { paymentId: '3', orderId: '1001', amount: 1999 } },
      'de',
    );
    expect(failed.title).toBe('Zahlung für Bestellung #1001 fehlgeschlagen');
    expect(failed.actions).toStrictEqual([{ id: 'pay-again', label: 'Erneut bezahlen', style: 'primary' }]);
  });

  it('dates in the locale and the zone, the zone named', () => {
    const at = new Date('2026-12-07T14:05:00Z');
    // ICU versions differ in which space they put before "PM": compared as plain spaces.
    const plain = (text: string) => text.replace(/\s/g, ' ');
    expect(plain(formatDateTime(at, 'de', 'Europe/Berlin'))).toBe('7. Dez. 2026, 15:05 MEZ');
    expect(plain(formatDateTime(at, 'en'))).toBe('Dec 7, 2026, 2:05 PM UTC');
  });

  it('money in the currency minor unit and the locale', () => {
    // Compared as plain spaces: which space (no-break, narrow) is CLDR's choice, not ours.
    const money = (minor: number, currency: string, locale: string) =>
      formatMoney(minor, currency, locale).replace(/\s/g, ' ');
    expect(money(1999, 'EUR', 'de')).toBe('19,99 €');
    expect(money(1999, 'USD', 'en')).toBe('$19.99');
    expect(money(1999, 'JPY', 'en')).toBe('¥1,999');
    expect(money(123456, 'EUR', 'fr')).toBe('1 234,56 €');
    // Minor units without floating point (what the removed formatMinor was tested for).
    expect(money(0, 'EUR', 'en')).toBe('€0.00');
    expect(money(5, 'EUR', 'en')).toBe('€0.05');
    expect(money(4848, 'EUR', 'en')).toBe('€48.48');
    expect(money(1e15, 'EUR', 'en')).toBe('€10,000,000,000,000.00');
    expect(money(-105, 'EUR', 'en')).toBe('-€1.05');
  });
});

describe('translations of a broadcast', () => {
  const row = {
    title: 'Maintenance',
    body: 'Tonight',
    translations: { de: { title: 'Wartung', body: 'Heute Nacht' }, 'fr-CA': { title: 'Entretien', body: 'Ce soir' } },
  };

  it('a viewer sees their locale, else their language, else the default', () => {
    expect(localized(row, 'de').title).toBe('Wartung');
    expect(localized(row, 'de-AT').title).toBe('Wartung');
    expect(localized(row, 'fr-CA').title).toBe('Entretien');
    expect(localized(row, 'fr').title).toBe('Maintenance');
    expect(localized(row, 'en').title).toBe('Maintenance');
    expect(localized({ ...row, translations: null }, 'de').title).toBe('Maintenance');
  });

  it('are validated: known-language BCP 47 keys, distinct once canonical, title and body within the limits', () => {
    expect(isTranslations({ de: { title: 'a', body: '' }, 'fr-ca': { title: 'b', body: 'c' } })).toBe(true);
    for (const bad of [
      [],
      null,
      'de',
      { xx: { title: 'a', body: '' } },
      { de_DE: { title: 'a', body: '' } },
      { de: { title: '', body: '' } },
      { de: { title: 'a' } },
      { de: { title: 'a', body: '', extra: 1 } },
      { de: { title: 'x'.repeat(201), body: '' } },
      { de: { title: 'a', body: 'x'.repeat(10_001) } },
      { 'fr-ca': { title: 'a', body: '' }, 'fr-CA': { title: 'b', body: '' } },
    ]) {
      expect([bad, isTranslations(bad)]).toStrictEqual([bad, false]);
    }
    expect(canonicalTranslations({ 'fr-ca': { title: 'a', body: 'b' } })).toStrictEqual({
      'fr-CA': { title: 'a', body: 'b' },
    });
  });
});
