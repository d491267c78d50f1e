import { createHmac } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import {
  cachedZones,
  canonicalTimeZone,
  isQuiet,
  MAX_CACHED_ZONES,
  quietUntil,
} from '../src/notifications/quiet-hours.js';
import { keysValid, pushTarget } from '../src/delivery/methods/push/push-allowlist.js';
import { type Candidate, plan } from '../src/delivery/rules.js';
import { UnsubscribeTokens } from '../src/delivery/methods/email/unsubscribe-token.js';
import { DEFAULT_PUSH_ALLOWLIST } from '../src/config/env.js';
import { DELIVERY_METHODS, perKey } from '../client/registry.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

describe('quiet hours', () => {
  const night = { start: '22:00', end: '07:00', timeZone: 'Europe/Berlin' };

  it('span midnight in the user zone', () => {
    // Berlin is UTC+1 in January.
    expect(isQuiet(night, at('2026-01-15T20:59:00Z'))).toBe(false); // 21:59
    expect(isQuiet(night, at('2026-01-15T21:00:00Z'))).toBe(true); // 22:00
    expect(isQuiet(night, at('2026-01-15T23:30:00Z'))).toBe(true); // 00:30
    expect(isQuiet(night, at('2026-01-16T05:59:00Z'))).toBe(true); // 06:59
    expect(isQuiet(night, at('2026-01-16T06:00:00Z'))).toBe(false); // 07:00
    // Before and after midnight, the end is the next 07:00 local.
    expect(iso(quietUntil(night, at('2026-01-15T21:30:00Z')))).toBe('2026-01-16T06:00:00.000Z');
    expect(iso(quietUntil(night, at('2026-01-16T02:00:00Z')))).toBe('2026-01-16T06:00:00.000Z');
    expect(quietUntil(night, at('2026-01-16T12:00:00Z'))).toBe(null);
    expect(quietUntil(null, at('2026-01-16T02:00:00Z'))).toBe(null);
  });

  it('follow DST: the end is 07:00 local on the day the clocks change', () => {
    // Europe/Berlin springs forward on 2026-03-29 (02:00 → 03:00): 07:00 CEST is 05:00 UTC.
    expect(iso(quietUntil(night, at('2026-03-28T22:00:00Z')))).toBe('2026-03-29T05:00:00.000Z');
    // Falls back on 2026-10-25 (03:00 → 02:00): 07:00 CET is 06:00 UTC.
    expect(iso(quietUntil(night, at('2026-10-24T21:00:00Z')))).toBe('2026-10-25T06:00:00.000Z');
    // New York springs forward on 2026-03-08; an end inside the skipped hour (02:30) is the
    // first minute outside the window: 03:00 EDT = 07:00 UTC.
    const gap = { start: '23:00', end: '02:30', timeZone: 'America/New_York' };
    expect(iso(quietUntil(gap, at('2026-03-08T05:00:00Z')))).toBe('2026-03-08T07:00:00.000Z');
    // Fall back on 2026-11-01: 01:30 happens twice; the window ends at the first 01:30 (EDT, 05:30 UTC).
    const twice = { start: '23:00', end: '01:30', timeZone: 'America/New_York' };
    expect(iso(quietUntil(twice, at('2026-11-01T04:00:00Z')))).toBe('2026-11-01T05:30:00.000Z');
  });

  it('knows IANA zones, in their canonical spelling (issue 19, finding 6)', () => {
    expect(canonicalTimeZone('Europe/Berlin')).toBe('Europe/Berlin');
    expect(canonicalTimeZone('europe/berlin')).toBe('Europe/Berlin');
    expect(canonicalTimeZone('EUROPE/BERLIN')).toBe('Europe/Berlin');
    expect(canonicalTimeZone('utc')).toBe('UTC');
    expect(canonicalTimeZone('Mars/Olympus_Mons')).toBe(null);
    expect(canonicalTimeZone('')).toBe(null);
  });

  it('keeps a bounded number of zone formatters, the most recently used', () => {
    const zones = Intl.supportedValuesOf('timeZone');
    expect(zones.length).toBeGreaterThan(MAX_CACHED_ZONES);
    // Every zone, and the upper-case spelling of each, as rows stored before canonical names may hold.
    for (const timeZone of [...zones, ...zones.map((z) => z.toUpperCase())]) {
      isQuiet({ start: '22:00', end: '07:00', timeZone }, Date.UTC(2026, 0, 15, 12));
    }
    expect(cachedZones()).toBe(MAX_CACHED_ZONES);
  });
});

describe('delivery rules', () => {
  const base: Candidate = {
    notificationId: '1',
    userId: '2',
    channel: 'order',
    severity: 'info',
    muted: [],
    enabled: perKey(DELIVERY_METHODS, () => true),
    quietHours: null,
    read: false,
    streamed: false,
    hasContact: perKey(DELIVERY_METHODS, () => true),
  };
  const now = at('2026-01-15T23:00:00Z');

  it('sends by every enabled method, now', () => {
    expect(plan(base, ['push', 'email'], now).map((p) => [p.method, p.status, p.notBefore])).toStrictEqual([
      ['push', 'scheduled', now],
      ['email', 'scheduled', now],
    ]);
  });

  it('mute stops all but critical; a method off or no subscription means no row', () => {
    expect(plan({ ...base, muted: ['order'] }, ['push', 'email'], now)).toStrictEqual([]);
    expect(plan({ ...base, muted: ['order'], severity: 'critical' }, ['push', 'email'], now)).toHaveLength(2);
    expect(
      plan({ ...base, enabled: { ...base.enabled, email: false } }, ['push', 'email'], now).map((p) => p.method),
    ).toStrictEqual(['push']);
    expect(
      plan({ ...base, hasContact: { ...base.hasContact, push: false } }, ['push', 'email'], now).map((p) => p.method),
    ).toStrictEqual(['email']);
  });

  it('read or streamed in time: cancelled; quiet hours defer all but critical', () => {
    expect(plan({ ...base, read: true }, ['email'], now)[0]).toMatchObject({
      status: 'cancelled',
      reason: 'read in time',
    });
    expect(plan({ ...base, streamed: true }, ['email'], now)[0].status).toBe('cancelled');
    const quiet = { ...base, quietHours: { start: '22:00', end: '07:00', timeZone: 'Europe/Berlin' } };
    expect(iso(plan(quiet, ['email'], now)[0].notBefore)).toBe('2026-01-16T06:00:00.000Z');
    expect(plan({ ...quiet, severity: 'critical' }, ['email'], now)[0].notBefore).toBe(now);
  });
});

describe('push endpoint allowlist', () => {
  it('lets through the browsers push services, https only', () => {
    const ok = [
      'https://fcm.googleapis.com/fcm/send/abc',
      'https://updates.push.services.mozilla.com/wpush/v2/abc',
      'https://web.push.apple.com/QGx',
      'https://wns2-par02p.notify.windows.com/w/?token=x',
    ];
    const refused = [
      'http://fcm.googleapis.com/fcm/send/abc',
      'https://fcm.googleapis.com.evil.example/x',
      'https://push.apple.com/x',
      'https://evilpush.apple.com/x',
      'https://user:pw@fcm.googleapis.com/x',
      'https://fcm.googleapis.com:8443/x',
      'https://127.0.0.1/x',
      'https://[::1]/latest',
      'file:///etc/passwd',
    ];
    const allowed = (e: string) => {
      try {
        return pushTarget(e, DEFAULT_PUSH_ALLOWLIST).href === e;
      } catch {
        return false;
      }
    };
    for (const e of ok) expect([e, allowed(e)]).toStrictEqual([e, true]);
    for (const e of refused) expect([e, allowed(e)]).toStrictEqual([e, false]);
  });

  it('checks the key sizes', () => {
    const p256dh = Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 1)]).toString('base64url');
    const auth = Buffer.alloc(16, 2).toString('base64url');
    expect(keysValid(p256dh, auth)).toBe(true);
    expect(keysValid(p256dh.slice(2), auth)).toBe(false);
    expect(keysValid(p256dh, auth + 'AA')).toBe(false);
    expect(keysValid(p256dh, 'not base64!')).toBe(false);
  });
});

describe('unsubscribe tokens', () => {
  const tokens = new UnsubscribeTokens('a-secret-of-at-least-thirty-two-chars!!');
  it('round-trip, expire, and refuse tampering or another key', () => {
    const now = Date.now();
    const token = tokens.sign('42', ['payment', 'order', 'order'], now);
    expect(tokens.verify(token, now)).toStrictEqual({ userId: '42', channels: ['order', 'payment'], issuedAt: now });
    expect(tokens.verify(token, now + 31 * 24 * 3_600_000)).toBe(null);
    expect(tokens.verify(token.replace('42.', '43.'), now)).toBe(null);
    expect(new UnsubscribeTokens('another-secret-of-at-least-thirty-two!!').verify(token, now)).toBe(null);
    expect(tokens.verify('garbage', now)).toBe(null);
  });

  it('still read the links of the previous version (expiry in seconds, 60 days), sent 60 days before it', () => {
    const secret = 'a-secret-of-at-least-thirty-two-chars!!';
    const key = createHmac('sha256', secret).update('unsubscribe-token-v1').digest();
    const sentAt = Date.now() - 3_600_000;
    const body = `42.order.${Math.floor((sentAt + 60 * 24 * 3_600_000) / 1000)}`;
    const v1 = `${body}.${createHmac('sha256', key).update(body).digest('base64url')}`;
    const read = tokens.verify(v1);
    expect(read?.channels).toStrictEqual(['order']);
    expect(Math.abs((read?.issuedAt ?? 0) - sentAt)).toBeLessThan(1000);
  });
});
