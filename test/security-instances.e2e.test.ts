import { describe, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../src/config/env.js';
import { startTestApp } from './support/app.js';
import { Client } from './support/http.js';

/**
 * Issue 13: the throttles' client address and the sign-up rate. Each test starts its own
 * instances (two at once share one database, as two instances behind a balancer would).
 */
describe('SIGNUP_RATE_PER_MINUTE (per client address, shared by instances)', () => {
  it('the sign-up after the limit is 429 and creates nothing, on either instance; other addresses are unaffected', async () => {
    const a = await startTestApp({ SIGNUP_RATE_PER_MINUTE: '3', TRUST_PROXY: '127.0.0.1' });
    const b = await startTestApp(
      { SIGNUP_RATE_PER_MINUTE: '3', TRUST_PROXY: '127.0.0.1' },
      {
        url: a.databaseUrl,
        drop: async () => undefined,
      },
    );
    try {
      const from = (ip: string) => ({ headers: { 'x-forwarded-for': ip } });
      const ca = new Client(a.baseUrl);
      const cb = new Client(b.baseUrl);
      for (const [c, i] of [
        [ca, 1],
        [cb, 2],
        [ca, 3],
      ] as const) {
        const res = await c.post(
          '/auth/register',
          { email: `rate-${i}@example.com`, password: 'password-123' },
          from('203.0.113.7'),
        );
        expect(res.status).toBe(201);
      }
      const over = await cb.post(
        '/auth/register',
        { email: 'rate-4@example.com', password: 'password-123' },
        from('203.0.113.7'),
      );
      expect(over.status).toBe(429);
      expect(over.body.statusCode).toBe(429);
      expect((await a.db.query(`SELECT count(*) FROM users WHERE email = 'rate-4@example.com'`)).rows[0].count).toBe(
        '0',
      );
      const other = await ca.post(
        '/auth/register',
        { email: 'rate-5@example.com', password: 'password-123' },
        from('203.0.113.8'),
      );
      expect(other.status).toBe(201);
    } finally {
      await b.close();
      await a.close();
    }
  });

  it('defaults to 10 and refuses a bad value with one line naming the variable', () => {
    const base = { NODE_ENV: 'test', SESSION_SECRET: 'x'.repeat(32), DATA_DIR: mkdtempSync(join(tmpdir(), 'config-')) };
    expect(loadConfig(base).signupRatePerMinute).toBe(10);
    expect(() => loadConfig({ ...base, SIGNUP_RATE_PER_MINUTE: 'ten' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, SIGNUP_RATE_PER_MINUTE: 'ten' })).toThrow(/^SIGNUP_RATE_PER_MINUTE /);
  });
});

describe('TRUST_PROXY (finding 4)', () => {
  it('unset: 40 failed sign-ins from 127.0.0.1 with rotating X-Forwarded-For meet 429', async () => {
    const t = await startTestApp();
    const c = new Client(t.baseUrl);
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) {
      const res = await c.post(
        '/auth/login',
        { email: `spray-${i}@example.com`, password: 'wrong-password' },
        { headers: { 'x-forwarded-for': `198.51.100.${i + 1}` } },
      );
      statuses.push(res.status);
    }
    await t.close();
    expect(statuses.slice(0, 30).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(30).every((s) => s === 429)).toBe(true);
  });
  it('set: only the named proxies are believed, and a bad value stops the start', async () => {
    const base = { NODE_ENV: 'test', SESSION_SECRET: 'x'.repeat(32), DATA_DIR: mkdtempSync(join(tmpdir(), 'config-')) };
    expect(loadConfig(base).trustProxy).toStrictEqual([]);
    expect(loadConfig({ ...base, TRUST_PROXY: '127.0.0.0/8, 127.0.0.2,::1' }).trustProxy).toStrictEqual([
      '127.0.0.0/8',
      '127.0.0.2',
      '::1',
    ]);
    for (const bad of ['everyone', '127.0.0.0/33', '300.1.1.1', '127.0.0.1/8/2', 'true']) {
      expect(() => loadConfig({ ...base, TRUST_PROXY: bad })).toThrow(/^TRUST_PROXY /);
    }
    // A proxy that is not 127.0.0.1: the socket's address counts, X-Forwarded-For is ignored.
    const p = await startTestApp({ TRUST_PROXY: '127.0.0.2' });
    try {
      const c = new Client(p.baseUrl);
      let last = 0;
      for (let i = 0; i < 31; i++) {
        last = (
          await c.post(
            '/auth/login',
            { email: `spray-${i}@example.com`, password: 'wrong-password' },
            { headers: { 'x-forwarded-for': `198.51.100.${i + 1}` } },
          )
        ).status;
      }
      expect(last).toBe(429);
    } finally {
      await p.close();
    }
  });
});
