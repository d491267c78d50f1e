import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chatTarget } from '../src/delivery/methods/chat/chat-target.js';
import { ConfigError, DEFAULT_CHAT_ALLOWLIST, loadConfig } from '../src/config/env.js';

const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    return (err as Error).message;
  }
  return 'accepted';
};

describe('a chat destination URL under the default CHAT_WEBHOOK_ALLOWLIST', () => {
  const allow = (kind: 'slack' | 'discord' | 'teams', url: string) =>
    refusal(() => chatTarget(kind, url, DEFAULT_CHAT_ALLOWLIST));

  it("takes the services' webhook URLs", () => {
    expect(allow('slack', 'https://hooks.slack.com/services/T000/B000/XXXX')).toBe('accepted');
    expect(allow('discord', 'https://discord.com/api/webhooks/123456/abc-DEF_1')).toBe('accepted');
    expect(allow('discord', 'https://discordapp.com/api/v10/webhooks/123456/abc')).toBe('accepted');
    expect(
      allow('teams', 'https://prod-12.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?sig=x'),
    ).toBe('accepted');
    expect(
      allow(
        'teams',
        'https://default0a1b.2c.environment.api.powerplatform.com:443/powerautomate/automations/direct/workflows/x/triggers/manual/paths/invoke?sig=y',
      ),
    ).toBe('accepted');
    expect(allow('teams', 'https://contoso.webhook.office.com/webhookb2/x')).toBe('accepted');
  });

  it("refuses another kind's host, a path outside the webhooks, http, another host, userinfo, an IP", () => {
    const refused = 'refused: not an allowed URL';
    for (const [kind, url] of [
      ['discord', 'https://hooks.slack.com/services/T000/B000/XXXX'],
      ['slack', 'https://discord.com/api/webhooks/1/x'],
      ['discord', 'https://discord.com/api/users/@me'],
      ['slack', 'https://hooks.slack.com/'],
      ['slack', 'http://hooks.slack.com/services/T/B/X'],
      ['slack', 'https://hooks.slack.com:8443/services/T/B/X'],
      ['slack', 'https://user@hooks.slack.com/services/T/B/X'],
      ['slack', 'https://slack.com/services/T/B/X'],
      ['teams', 'https://logic.azure.com.evil.example/x'],
      ['teams', 'https://127.0.0.2/x'],
    ] as const) {
      expect([url, allow(kind, url)]).toStrictEqual([url, refused]);
    }
  });
});

describe('CHAT_WEBHOOK_ALLOWLIST', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'notif-chat-config-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
  const env = { NODE_ENV: 'test', SESSION_SECRET: 'x'.repeat(32), DATA_DIR: dataDir };
  it('defaults to the Slack, Discord and Teams hosts; takes https origins and *.host patterns', () => {
    expect(loadConfig(env).delivery.chatAllowlist).toStrictEqual(DEFAULT_CHAT_ALLOWLIST);
    expect(
      loadConfig({ ...env, CHAT_WEBHOOK_ALLOWLIST: 'https://Chat.Example.com:8443, *.Hooks.Example' }).delivery
        .chatAllowlist,
    ).toStrictEqual(['https://chat.example.com:8443', '*.hooks.example']);
  });

  it('refuses anything else with one line naming the variable', () => {
    for (const bad of ['http://chat.example.com', 'https://chat.example.com/path', 'chat.example.com', '*']) {
      const message = refusal(() => loadConfig({ ...env, CHAT_WEBHOOK_ALLOWLIST: bad }));
      expect(message).toMatch(/^CHAT_WEBHOOK_ALLOWLIST: ".*" (must be|is neither)/);
      expect(message).not.toContain('\n');
      expect(() => loadConfig({ ...env, CHAT_WEBHOOK_ALLOWLIST: bad })).toThrow(ConfigError);
    }
  });
});
