import { describe, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../src/config/env.js';

const base = { NODE_ENV: 'test', DATA_DIR: mkdtempSync(join(tmpdir(), 'notif-smscfg-')) };

describe('SMS_URL and SMS_FROM', () => {
  it('unset: SMS go to the outbox', () => {
    expect(loadConfig(base).delivery.sms).toBeUndefined();
  });

  it('takes the account from the user part and keeps it out of the base URL', () => {
    const sms = loadConfig({ ...base, SMS_URL: 'https://AC123:s%3Acret@api.twilio.com/', SMS_FROM: '+15005550006' })
      .delivery.sms;
    expect(sms).toEqual({
      baseUrl: 'https://api.twilio.com',
      accountSid: 'AC123',
      authToken: 's:cret',
      from: '+15005550006',
    });
  });

  it('refuses an SMS_URL without the account, or without an E.164 SMS_FROM', () => {
    expect(() => loadConfig({ ...base, SMS_URL: 'https://api.twilio.com', SMS_FROM: '+15005550006' })).toThrow(
      ConfigError,
    );
    expect(() => loadConfig({ ...base, SMS_URL: 'https://AC1:tok@api.twilio.com' })).toThrow(/SMS_FROM/);
    expect(() => loadConfig({ ...base, SMS_URL: 'https://AC1:tok@api.twilio.com', SMS_FROM: '015005550006' })).toThrow(
      /SMS_FROM/,
    );
    expect(() => loadConfig({ ...base, SMS_URL: 'ftp://AC1:tok@api.twilio.com', SMS_FROM: '+15005550006' })).toThrow(
      /SMS_URL/,
    );
  });
});
