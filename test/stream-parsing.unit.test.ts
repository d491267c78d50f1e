import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHANNELS } from '../client/registry.js';
import { DomainError } from '../src/common/domain-error.js';
import { ConfigError, loadConfig } from '../src/config/env.js';
import type { NotificationRow } from '../src/notifications/notification.types.js';
import { frameOf } from '../src/notifications/stream-hub.js';
import { parseChannels, parseLastEventId } from '../src/notifications/stream-auth.js';
import { canSee } from '../src/notifications/visibility.js';

const row = (over: Partial<NotificationRow> = {}): NotificationRow => ({
  id: '42',
  user_id: null,
  channel: 'system',
  type: 'system.broadcast',
  severity: 'info',
  title: 'Hi',
  body: 'there',
  data: {},
  audience_kind: 'all',
  audience_role: null,
  audience_user_ids: null,
  created_at: new Date('2026-11-22T10:00:00Z'),
  expires_at: null,
  deliver: null,
  actions: null,
  translations: null,
  ...over,
});

describe('Last-Event-ID parsing', () => {
  it('accepts 0 … 2^63−1 in decimal digits only', () => {
    expect(parseLastEventId(undefined)).toBe(null);
    expect(parseLastEventId('0')).toBe(0n);
    expect(parseLastEventId('9223372036854775807')).toBe(9223372036854775807n);
    for (const bad of ['', '-1', '9223372036854775808', '99999999999999999999', 'abc', '1 ', '1e3', '0x1', '+1']) {
      expect(() => parseLastEventId(bad)).toThrow(DomainError); // bad
    }
  });

  it('channels: a known subset, deduplicated; anything else rejected', () => {
    expect(parseChannels(undefined)).toStrictEqual([...CHANNELS]);
    expect(parseChannels('payment,order,payment')).toStrictEqual(['payment', 'order']);
    for (const bad of ['', 'sms', 'order,', ['order']]) expect(() => parseChannels(bad)).toThrow(DomainError);
  });
});

describe('frames', () => {
  it('serialise once into one data line whatever the text holds', () => {
    const f = frameOf(row({ title: 'a\nb\r\nc\u2028', body: 'event: x\n\ndata: y', data: { k: '\r' } }));
    expect(f.message.type).toBe('system');
    expect(f.message.id).toBe('42');
    expect(f.message.data!).not.toMatch(/[\r\n]/);
    expect(JSON.parse(f.message.data!).body).toBe('event: x\n\ndata: y');
  });

  it('escalates (is worth a stream mark) when personal or a broadcast with deliver; never shows deliver', () => {
    expect(frameOf(row({ user_id: '7', audience_kind: null })).escalates).toBe(true);
    expect(frameOf(row()).escalates).toBe(false);
    expect(frameOf(row({ deliver: [] })).escalates).toBe(false);
    const f = frameOf(row({ deliver: ['email'] }));
    expect(f.escalates).toBe(true);
    expect(Object.keys(JSON.parse(f.message.data!))).toStrictEqual([
      'id',
      'channel',
      'type',
      'severity',
      'title',
      'body',
      'data',
      'createdAt',
      'readAt',
      'seenAt',
      'archivedAt',
      'snoozedUntil',
      'actions',
    ]);
  });
});

describe('visibility (in-memory form)', () => {
  const viewer = { id: '7', role: 'user' as const, createdAt: new Date('2026-11-01T00:00:00Z') };
  const now = Date.parse('2026-11-22T12:00:00Z');
  it('personal rows only to their user', () => {
    expect(canSee(viewer, row({ user_id: '7', audience_kind: null }), now)).toBe(true);
    expect(canSee(viewer, row({ user_id: '8', audience_kind: null }), now)).toBe(false);
  });
  it('broadcasts by audience, after the user existed, before expiry', () => {
    expect(canSee(viewer, row(), now)).toBe(true);
    expect(canSee(viewer, row({ created_at: new Date('2026-10-01T00:00:00Z') }), now)).toBe(false);
    expect(canSee(viewer, row({ expires_at: new Date(now - 1) }), now)).toBe(false);
    expect(canSee(viewer, row({ audience_kind: 'role', audience_role: 'admin' }), now)).toBe(false);
    expect(canSee({ ...viewer, role: 'admin' }, row({ audience_kind: 'role', audience_role: 'admin' }), now)).toBe(
      true,
    );
    expect(canSee(viewer, row({ audience_kind: 'users', audience_user_ids: ['70', '7'] }), now)).toBe(true);
    expect(canSee(viewer, row({ audience_kind: 'users', audience_user_ids: ['70'] }), now)).toBe(false);
  });
});

// A real P-256 pair (generated once for this test), as production demands one.
const PRODUCTION_VAPID = {
  VAPID_PUBLIC_KEY: 'BGGw3DgPkb2Yagupn7WjpZrAYwEeCzKrb6kPsvz1FkkmC5HCLgkT9LJiKD4Zhfp3NwVg_7XuxCA4aP6JCtN-WSA',
  VAPID_PRIVATE_KEY: 'ntozfiIjzJG3DoH1dEp96mLfrzs8U_Sd6uHIxo2G43w',
  VAPID_SUBJECT: 'mailto:ops@example.com',
};

describe('configuration', () => {
  it('development VAPID keys generated into DATA_DIR are always a valid pair, and kept', () => {
    // One P-256 scalar in 256 has a leading zero byte; 1,000 fresh directories meet one
    // almost surely, and a 31-byte private key would stop every later start of that DATA_DIR.
    const root = mkdtempSync(join(tmpdir(), 'vapid-'));
    try {
      for (let i = 0; i < 1000; i++) {
        const dir = join(root, String(i));
        const { vapid } = loadConfig({ SESSION_SECRET: 's'.repeat(32), DATA_DIR: dir }).delivery;
        expect(Buffer.from(vapid.privateKey, 'base64url').length).toBe(32);
        expect(Buffer.from(vapid.publicKey, 'base64url').length).toBe(65);
        expect(JSON.parse(readFileSync(join(dir, 'vapid.json'), 'utf8')).privateKey).toBe(vapid.privateKey);
      }
      const again = loadConfig({ SESSION_SECRET: 's'.repeat(32), DATA_DIR: join(root, '0') }).delivery.vapid;
      expect(again).toStrictEqual(
        loadConfig({ SESSION_SECRET: 's'.repeat(32), DATA_DIR: join(root, '0') }).delivery.vapid,
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('a bad value stops the start with one line naming the variable', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ PORT: 'abc' }, /^PORT /],
      [{ PORT: '70000' }, /^PORT /],
      [{ DATABASE_URL: 'not a url' }, /^DATABASE_URL /],
      [{ DATABASE_URL: 'mysql://x/y' }, /^DATABASE_URL /],
      [{ REDIS_URL: 'http://x' }, /^REDIS_URL /],
      [{ NODE_ENV: 'production', ADMIN_PASSWORD: 'long-enough-1', SESSION_SECRET: '' }, /^SESSION_SECRET /],
      [{ SESSION_SECRET: 'short' }, /^SESSION_SECRET /],
      [{ NODE_ENV: 'production', SESSION_SECRET: 'x'.repeat(40) }, /^ADMIN_PASSWORD /],
      [{ HEARTBEAT_MS: '-5' }, /^HEARTBEAT_MS /],
      [{ MAX_STREAMS_PER_USER: '0' }, /^MAX_STREAMS_PER_USER /],
      [{ NODE_ENV: 'staging' }, /^NODE_ENV /],
      [{ NODE_ENV: 'production', ADMIN_PASSWORD: 'long-enough-1' }, /^VAPID_PUBLIC_KEY\b/],
      [{ VAPID_PUBLIC_KEY: 'abc', VAPID_PRIVATE_KEY: 'def' }, /^VAPID_PUBLIC_KEY /],
      [{ PUBLIC_URL: 'ftp://x' }, /^PUBLIC_URL /],
      [{ SMTP_URL: 'http://mail' }, /^SMTP_URL /],
      // Parsed as URLs of no host, which the mailer would take for localhost at the first email.
      [{ SMTP_URL: 'smtp:mail.example.com' }, /^SMTP_URL /],
      [{ SMTP_URL: 'smtps://' }, /^SMTP_URL /],
      [{ REDIS_URL: 'redis:redis.internal:6379' }, /^REDIS_URL /],
      [{ MAIL_FROM: 'nobody' }, /^MAIL_FROM /],
      [{ PUSH_ENDPOINT_ALLOWLIST: 'http://push.example' }, /^PUSH_ENDPOINT_ALLOWLIST/],
      [{ PUSH_ENDPOINT_ALLOWLIST: 'https://push.example/path' }, /^PUSH_ENDPOINT_ALLOWLIST/],
      [{ ESCALATE_AFTER_MS: 'soon' }, /^ESCALATE_AFTER_MS /],
    ];
    for (const [env, message] of cases) {
      // one line naming the variable, for ${JSON.stringify(env)}
      expect(() => loadConfig({ SESSION_SECRET: 's'.repeat(32), ...env })).toThrow(ConfigError);
      expect(() => loadConfig({ SESSION_SECRET: 's'.repeat(32), ...env })).toThrow(message);
      expect(() => loadConfig({ SESSION_SECRET: 's'.repeat(32), ...env })).not.toThrow(/\n/);
    }
    const ok = loadConfig({
      SESSION_SECRET: 's'.repeat(32),
      PORT: '8080',
      NODE_ENV: 'production',
      ADMIN_PASSWORD: 'long-enough-1',
      ...PRODUCTION_VAPID,
    });
    expect(ok.port).toBe(8080);
    expect(ok.production).toBe(true);
  });
});
