import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DomainError } from '../src/common/domain-error.js';
import { containsNul } from '../src/common/body-parsing.js';
import { ConfigError, loadConfig } from '../src/config/env.js';
import type { NotificationRow } from '../src/notifications/notification.types.js';
import { frameOf } from '../src/notifications/stream-hub.js';
import { parseChannels, parseLastEventId } from '../src/notifications/stream.controller.js';
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
  ...over,
});

describe('Last-Event-ID parsing', () => {
  it('accepts 0 … 2^63−1 in decimal digits only', () => {
    assert.equal(parseLastEventId(undefined), null);
    assert.equal(parseLastEventId('0'), 0n);
    assert.equal(parseLastEventId('9223372036854775807'), 9223372036854775807n);
    for (const bad of ['', '-1', '9223372036854775808', '99999999999999999999', 'abc', '1 ', '1e3', '0x1', '+1']) {
      assert.throws(() => parseLastEventId(bad), DomainError, bad);
    }
  });

  it('channels: a known subset, deduplicated; anything else rejected', () => {
    assert.deepEqual(parseChannels(undefined), ['order', 'payment', 'system']);
    assert.deepEqual(parseChannels('payment,order,payment'), ['payment', 'order']);
    for (const bad of ['', 'sms', 'order,', ['order']]) assert.throws(() => parseChannels(bad), DomainError);
  });
});

describe('frames', () => {
  it('serialise once into one data line whatever the text holds', () => {
    const f = frameOf(row({ title: 'a\nb\r\nc\u2028', body: 'event: x\n\ndata: y', data: { k: '\r' } }));
    assert.equal(f.message.type, 'system');
    assert.equal(f.message.id, '42');
    assert.doesNotMatch(f.message.data!, /[\r\n]/);
    assert.equal(JSON.parse(f.message.data!).body, 'event: x\n\ndata: y');
  });
});

describe('visibility (in-memory form)', () => {
  const viewer = { id: '7', role: 'user' as const, createdAt: new Date('2026-11-01T00:00:00Z') };
  const now = Date.parse('2026-11-22T12:00:00Z');
  it('personal rows only to their user', () => {
    assert.equal(canSee(viewer, row({ user_id: '7', audience_kind: null }), now), true);
    assert.equal(canSee(viewer, row({ user_id: '8', audience_kind: null }), now), false);
  });
  it('broadcasts by audience, after the user existed, before expiry', () => {
    assert.equal(canSee(viewer, row(), now), true);
    assert.equal(canSee(viewer, row({ created_at: new Date('2026-10-01T00:00:00Z') }), now), false);
    assert.equal(canSee(viewer, row({ expires_at: new Date(now - 1) }), now), false);
    assert.equal(canSee(viewer, row({ audience_kind: 'role', audience_role: 'admin' }), now), false);
    assert.equal(
      canSee({ ...viewer, role: 'admin' }, row({ audience_kind: 'role', audience_role: 'admin' }), now),
      true,
    );
    assert.equal(canSee(viewer, row({ audience_kind: 'users', audience_user_ids: ['70', '7'] }), now), true);
    assert.equal(canSee(viewer, row({ audience_kind: 'users', audience_user_ids: ['70'] }), now), false);
  });
});

describe('configuration', () => {
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
    ];
    for (const [env, message] of cases) {
      assert.throws(
        () => loadConfig({ SESSION_SECRET: 's'.repeat(32), ...env }),
        (err: unknown) => err instanceof ConfigError && message.test(err.message) && !err.message.includes('\n'),
        JSON.stringify(env),
      );
    }
    const ok = loadConfig({
      SESSION_SECRET: 's'.repeat(32),
      PORT: '8080',
      NODE_ENV: 'production',
      ADMIN_PASSWORD: 'long-enough-1',
    });
    assert.equal(ok.port, 8080);
    assert.equal(ok.production, true);
  });
});

describe('U+0000 detection', () => {
  it('finds NUL in nested values and keys', () => {
    assert.equal(containsNul({ a: [{ b: 'x\u0000' }] }), true);
    assert.equal(containsNul({ ['k\u0000']: 1 }), true);
    assert.equal(containsNul({ a: ['fine', 1, null, { b: 'ok' }] }), false);
  });
});
