import { describe, expect, it } from '@jest/globals';
import { canonicalLocale, localeFromAcceptLanguage } from '../src/users/locale.js';
import { sharedTestApp } from './support/app.js';
import { Client } from './support/http.js';

const t = sharedTestApp();

describe('the user locale', () => {
  it('comes from Accept-Language at sign-up, else en', async () => {
    for (const [header, expected] of [
      ['de-DE,de;q=0.9,en;q=0.8', 'de-DE'],
      ['en;q=0.5, fr-ca', 'fr-CA'],
      ['xx, es;q=0.3', 'es'],
      ['*', 'en'],
      [undefined, 'en'],
    ] as const) {
      const c = new Client(t.baseUrl);
      const email = `locale-${expected}-${header ?? 'none'}@example.com`.replace(/[^a-z0-9@.-]/gi, '');
      const res = await c.request(
        'POST',
        '/auth/register',
        { email, password: 'password-123' },
        {
          headers: header ? { 'accept-language': header } : {},
        },
      );
      expect(res.status).toBe(201);
      await c.login(email);
      expect([header, (await c.get('/preferences')).body.locale]).toStrictEqual([header, expected]);
    }
  });

  it('is changed in preferences (canonical BCP 47); an unknown or malformed one is 400 and changes nothing', async () => {
    const c = new Client(t.baseUrl);
    await c.signUp('locale-put@example.com');
    const put = await c.put('/preferences', { locale: 'fr-ca' });
    expect(put.status).toBe(200);
    expect(put.body.locale).toBe('fr-CA');
    for (const bad of ['xx', 'not a tag', '', 'de_DE', 42, 'x'.repeat(40)]) {
      const res = await c.put('/preferences', { locale: bad });
      expect([bad, res.status]).toStrictEqual([bad, 400]);
    }
    expect((await c.get('/preferences')).body.locale).toBe('fr-CA');
  });

  it('parses tags and headers', () => {
    expect(canonicalLocale('DE-at')).toBe('de-AT');
    expect(canonicalLocale('zz')).toBe(null);
    expect(localeFromAcceptLanguage('fr;q=0, de;q=0.1')).toBe('de');
  });
});
