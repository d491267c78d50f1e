import { describe, expect, it } from '@jest/globals';
import { isPublicAddress } from '../src/outbound/addresses.js';
import { OutboundError } from '../src/outbound/outbound-error.js';
import { allowlistRules, checkUrl } from '../src/outbound/target.js';

/*
 * The outbound URL rules and the address filter, with no network: what an SSRF attempt would
 * have to get past before a single packet leaves (test/ssrf.e2e.test.ts dials for real).
 */
const push = allowlistRules(['https://127.0.0.1:8443', 'https://fcm.googleapis.com', '*.push.apple.com']);

const refusal = (url: string, rules = push): string => {
  try {
    checkUrl(url, rules);
  } catch (err) {
    expect(err).toBeInstanceOf(OutboundError);
    expect((err as OutboundError).category).toBe('refused: not an allowed URL');
    return (err as OutboundError).detail;
  }
  throw new Error(`${url} was accepted`);
};

describe('checkUrl', () => {
  it('refuses the parser-differential spellings that web-push read as 127.0.0.1', () => {
    for (const c of ["'", ';', '{', '}', '"', '`']) {
      expect(refusal(`https://127.0.0.1${c}.push.apple.com/x`)).toBe('host is not a DNS name');
    }
  });

  it('refuses userinfo, IP literals in every spelling, trailing dots, other ports and schemes', () => {
    const cases = [
      'https://user@web.push.apple.com/x',
      'https://user:pw@web.push.apple.com/x',
      'https://@web.push.apple.com/x',
      'https://127.0.0.1/x',
      'https://127.0.0.2/x',
      'https://2130706433/x',
      'https://0x7f000001/x',
      'https://0177.0.0.1/x',
      'https://127.1/x',
      'https://[::1]/x',
      'https://[::ffff:127.0.0.1]/x',
      'https://[::ffff:7f00:2]/x',
      'https://web.push.apple.com./x',
      'https://web.push.apple.com:8443/x',
      'https://web.push.apple.com:0/x',
      'http://web.push.apple.com/x',
      'ftp://web.push.apple.com/x',
      'https://web%2epush.apple.com/x',
      'https://WEB.push.apple.com\\@127.0.0.2/x',
      'https://web.push.apple.com\t/x',
      ' https://web.push.apple.com/x',
      'https://bücher.push.apple.com/x',
      'https://a_b.push.apple.com/x',
      'https://push.apple.com/x',
      'https://push.apple.com.evil.example/x',
      'https://evil.example/push.apple.com',
      'https://127.0.0.1:8444/x',
      'not a url',
      `https://web.push.apple.com/${'a'.repeat(2048)}`,
    ];
    for (const url of cases) expect([url, refusal(url)]).toStrictEqual([url, expect.any(String)]);
  });

  it('accepts hosts under a pattern and exact origins, and hands over the parts to dial', () => {
    expect(checkUrl('https://web.push.apple.com/a/b?c=d#frag', push)).toStrictEqual({
      href: 'https://web.push.apple.com/a/b?c=d#frag',
      origin: 'https://web.push.apple.com',
      protocol: 'https:',
      hostname: 'web.push.apple.com',
      port: 443,
      path: '/a/b?c=d',
      trusted: false,
    });
    // Upper case and an explicit default port are the same spelling, lower-cased.
    expect(checkUrl('https://WEB.Push.Apple.com:443/x', push).hostname).toBe('web.push.apple.com');
    // An exact origin is dialled as named: an address literal and a port of its own.
    expect(checkUrl('https://127.0.0.1:8443/push/abc', push)).toMatchObject({
      hostname: '127.0.0.1',
      port: 8443,
      path: '/push/abc',
      trusted: true,
    });
    expect(checkUrl('https://fcm.googleapis.com/fcm/send/x', push).trusted).toBe(true);
    // An exact origin with an IPv6 literal is dialled without its brackets.
    const v6 = allowlistRules(['http://[::1]:8080']);
    expect(checkUrl('http://[::1]:8080/hook', v6)).toMatchObject({ hostname: '::1', port: 8080, trusted: true });
    // Webhooks: any public https host, on the default port only.
    const any = allowlistRules([], { anyPublicHost: true });
    expect(checkUrl('https://hooks.example.com/x', any).trusted).toBe(false);
    expect(refusal('https://hooks.example.com:8443/x', any)).toBe('not the default port');
    expect(refusal('https://localhost/x', any)).toBe('host is not a DNS name');
  });
});

describe('isPublicAddress', () => {
  it('refuses loopback, private, CGNAT, link-local, unspecified, multicast and their IPv6 forms', () => {
    const refused = [
      '127.0.0.1',
      '127.0.0.2',
      '10.0.0.1',
      '172.16.0.1',
      '192.168.1.1',
      '100.64.0.1',
      '169.254.169.254',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '198.18.0.1',
      '::',
      '::1',
      '::ffff:127.0.0.1',
      '::ffff:169.254.169.254',
      '::127.0.0.1',
      '64:ff9b::7f00:1',
      '2002:7f00:1::',
      'fc00::1',
      'fd12:3456::1',
      'fe80::1',
      'fe80::1%lo',
      'ff02::1',
      'not an address',
    ];
    for (const a of refused) expect([a, isPublicAddress(a)]).toStrictEqual([a, false]);
  });

  it('accepts public unicast addresses', () => {
    for (const a of ['8.8.8.8', '1.1.1.1', '17.253.144.10', '2a00:1450:4001:82a::200a', '2606:4700::1111']) {
      expect([a, isPublicAddress(a)]).toStrictEqual([a, true]);
    }
  });
});
