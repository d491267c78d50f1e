import { describe, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { ConfigError, DEFAULT_WEBHOOK_RETRY_SCHEDULE, loadConfig } from '../src/config/env.js';
import { newSecret, sign, signatureHeader } from '../src/webhooks/signature.js';
import { messageBody } from '../src/webhooks/webhook-events.js';

const base = {
  NODE_ENV: 'test',
  SESSION_SECRET: 'x'.repeat(32),
  DATA_DIR: mkdtempSync(join(tmpdir(), 'webhooks-config-')),
};

describe('webhook signatures', () => {
  it('are what the standardwebhooks package signs, and it verifies them', () => {
    const secret = newSecret();
    const body = messageBody({ type: 'notification.read', userId: '7', all: true }, new Date());
    const ts = Math.floor(Date.now() / 1000);
    expect(sign(secret, 'msg_1', ts, body)).toBe(new Webhook(secret).sign('msg_1', new Date(ts * 1000), body));
    const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(ts) };
    const signature = signatureHeader([secret], 'msg_1', ts, body);
    expect(new Webhook(secret).verify(body, { ...headers, 'webhook-signature': signature })).toStrictEqual(
      JSON.parse(body),
    );
    // Another id, timestamp or body: refused.
    expect(() =>
      new Webhook(secret).verify(body, { ...headers, 'webhook-id': 'msg_2', 'webhook-signature': signature }),
    ).toThrow();
    expect(() => new Webhook(secret).verify(`${body} `, { ...headers, 'webhook-signature': signature })).toThrow();
  });

  it('carry one signature per secret, space-separated, each verifying on its own', () => {
    const [current, previous] = [newSecret(), newSecret()];
    const body = '{"type":"delivery.sent"}';
    const ts = Math.floor(Date.now() / 1000);
    const header = signatureHeader([current, previous], 'msg_x', ts, body);
    expect(header.split(' ')).toHaveLength(2);
    const headers = { 'webhook-id': 'msg_x', 'webhook-timestamp': String(ts), 'webhook-signature': header };
    for (const s of [current, previous]) expect(new Webhook(s).verify(body, headers)).toStrictEqual(JSON.parse(body));
    expect(() => new Webhook(newSecret()).verify(body, headers)).toThrow();
  });

  it('secrets are whsec_ and the base64 of 32 random bytes', () => {
    const s = newSecret();
    expect(s).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(s.slice(6), 'base64')).toHaveLength(32);
    expect(newSecret()).not.toBe(s);
  });

  it('bodies are { type, timestamp, data }', () => {
    const at = new Date('2030-01-02T03:04:05.006Z');
    expect(
      JSON.parse(messageBody({ type: 'notification.created', notificationIds: ['1'], broadcast: true }, at)),
    ).toStrictEqual({
      type: 'notification.created',
      timestamp: '2030-01-02T03:04:05.006Z',
      data: { notificationIds: ['1'], broadcast: true },
    });
  });
});

describe('webhook settings', () => {
  it('default to the contract and read WEBHOOK_RETRY_SCHEDULE and WEBHOOK_URL_ALLOWLIST', () => {
    expect(loadConfig(base).webhooks).toStrictEqual({
      retryScheduleMs: DEFAULT_WEBHOOK_RETRY_SCHEDULE,
      urlAllowlist: [],
    });
    expect(
      loadConfig({
        ...base,
        WEBHOOK_RETRY_SCHEDULE: '50, 50',
        WEBHOOK_URL_ALLOWLIST: 'http://hooks.internal:8080,https://x.example',
      }).webhooks,
    ).toStrictEqual({ retryScheduleMs: [50, 50], urlAllowlist: ['http://hooks.internal:8080', 'https://x.example'] });
  });

  it.each([
    ['WEBHOOK_RETRY_SCHEDULE', '5s,10s'],
    ['WEBHOOK_RETRY_SCHEDULE', '-1'],
    ['WEBHOOK_RETRY_SCHEDULE', '100,,200'],
    ['WEBHOOK_RETRY_SCHEDULE', String(8 * 24 * 3_600_000)],
    ['WEBHOOK_URL_ALLOWLIST', 'hooks.internal'],
    ['WEBHOOK_URL_ALLOWLIST', 'https://hooks.internal/path'],
    ['WEBHOOK_URL_ALLOWLIST', 'ftp://hooks.internal'],
  ])('%s=%s stops the start with one line naming it', (name, value) => {
    const load = () => loadConfig({ ...base, [name]: value });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(new RegExp(`^${name}`));
    try {
      load();
    } catch (err) {
      expect((err as Error).message).not.toContain('\n');
    }
  });
});
