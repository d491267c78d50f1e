import { describe, expect, it } from '@jest/globals';
import { jsonDepthExceeds, MAX_JSON_DEPTH, refusalOf } from '../src/common/body-parsing.js';
import { ORIGIN_CHECK_EXEMPT, originRefusal, type OriginFacts } from '../src/common/origin-check.js';

/** The pure parts of the HTTP hardening, without Nest (the e2e and browser tests cover the wiring). */

const bytes = (text: string) => Buffer.from(text, 'utf8');

describe('jsonDepthExceeds', () => {
  it('counts arrays and objects, not brackets inside strings or after escaped quotes', () => {
    expect(jsonDepthExceeds(bytes('[[[]]]'), 3)).toBe(false);
    expect(jsonDepthExceeds(bytes('[[[[]]]]'), 3)).toBe(true);
    expect(jsonDepthExceeds(bytes('{"a":{"b":[1]}}'), 3)).toBe(false);
    expect(jsonDepthExceeds(bytes('{"a":{"b":[{}]}}'), 3)).toBe(true);
    expect(jsonDepthExceeds(bytes('["[[[[", "\\"[[[[", "\\\\"]'), 1)).toBe(false);
    expect(jsonDepthExceeds(bytes('["\\\\", [[]]]'), 2)).toBe(true); // the string ended at \\"
    expect(jsonDepthExceeds(bytes('{"ü€😀":[["[{"]]}'), 3)).toBe(false);
  });

  it('takes a million levels in a loop, without a stack', () => {
    expect(jsonDepthExceeds(bytes('['.repeat(1_000_000)), MAX_JSON_DEPTH)).toBe(true);
  });
});

describe('refusalOf', () => {
  it('finds forbidden keys and U+0000 at any depth', () => {
    expect(refusalOf(JSON.parse('{"a":[{"b":{"__proto__":1}}]}'))).toBe(
      'The key "__proto__" is not allowed in a JSON body',
    );
    expect(refusalOf({ a: [[{ prototype: 1 }]] })).toBe('The key "prototype" is not allowed in a JSON body');
    expect(refusalOf({ a: ['x\u0000'] })).toBe('Text must not contain U+0000');
    expect(refusalOf({ a: [{ b: 'x\u0000' }] })).toBe('Text must not contain U+0000');
    expect(refusalOf({ ['k\u0000']: 1 })).toBe('Text must not contain U+0000');
    expect(refusalOf({ a: ['fine', 1, null, { b: 'ok' }] })).toBe(null);
    expect(refusalOf({ constructorName: 'ok', proto: 1, a: ['__proto__'] })).toBe(null); // values and other keys are fine
  });

  it('finds a lone surrogate (text that is not Unicode) in any string or key, and lets pairs through', () => {
    const refusal = 'Text must be well-formed Unicode (a lone surrogate is not)';
    expect(refusalOf(JSON.parse('{"email":"\\ud800"}'))).toBe(refusal);
    expect(refusalOf({ a: [{ b: 'x\udfff' }] })).toBe(refusal);
    expect(refusalOf({ ['k\ud83d']: 1 })).toBe(refusal);
    expect(refusalOf({ a: 'pair 💥 and \ud83d\udca5', b: ['é'] })).toBe(null);
  });
});

describe('originRefusal', () => {
  const base: OriginFacts = {
    method: 'POST',
    path: '/orders',
    origin: undefined,
    secFetchSite: undefined,
    protocol: 'http',
    host: 'notify.example:8080',
  };
  const verdict = (facts: Partial<OriginFacts>, publicOrigins?: string[]) =>
    originRefusal({ ...base, ...facts }, publicOrigins);

  it('guards unsafe methods and every spelling of the stream, not other reads', () => {
    expect(verdict({ origin: 'http://evil.example' })).toMatch(/^Cross-origin/);
    for (const method of ['PUT', 'PATCH', 'DELETE'])
      expect(verdict({ method, origin: 'http://evil.example' })).not.toBe(null);
    for (const path of ['/notifications/stream', '/Notifications/Stream', '/notifications/stream/'])
      expect(verdict({ method: 'GET', path, secFetchSite: 'same-site' })).not.toBe(null);
    expect(verdict({ method: 'HEAD', path: '/notifications/stream', origin: 'http://evil.example' })).not.toBe(null);
    expect(verdict({ method: 'GET', path: '/notifications', origin: 'http://evil.example' })).toBe(null);
    expect(verdict({ method: 'GET', path: '/', secFetchSite: 'cross-site' })).toBe(null); // a link in an email
  });

  it('compares origins as browsers serialise them; PUBLIC_ORIGIN replaces the request’s own', () => {
    expect(verdict({ origin: 'http://notify.example:8080' })).toBe(null);
    expect(verdict({ origin: 'http://NOTIFY.example:8080', secFetchSite: 'same-origin' })).toBe(null);
    expect(verdict({ origin: 'https://notify.example:8080' })).not.toBe(null);
    expect(verdict({ origin: 'http://notify.example' })).not.toBe(null);
    expect(verdict({ origin: 'null' })).not.toBe(null);
    expect(verdict({ host: 'notify.example:80', origin: 'http://notify.example' })).toBe(null);
    expect(verdict({ origin: 'https://notify.example' }, ['https://notify.example'])).toBe(null);
    expect(verdict({ origin: 'http://notify.example:8080' }, ['https://notify.example'])).not.toBe(null);
    expect(verdict({ secFetchSite: 'none' })).toBe(null);
  });

  it('exempts RFC 8058 one-click unsubscribe, which mail clients POST from anywhere', () => {
    expect(ORIGIN_CHECK_EXEMPT).toContainEqual({ method: 'POST', path: '/unsubscribe' });
    expect(verdict({ path: '/unsubscribe', origin: 'https://mail.example', secFetchSite: 'cross-site' })).toBe(null);
    expect(verdict({ path: '/Unsubscribe', origin: 'https://mail.example' })).not.toBe(null); // exactly that route
  });
});
