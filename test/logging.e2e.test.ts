import type { INestApplication } from '@nestjs/common';
import type { Server } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createApp } from '../src/app.factory.js';
import { SESSION_HINT_COOKIE } from '../src/auth/session-hint.js';
import { loadConfig } from '../src/config/env.js';
import { Client } from './support/http.js';
import { freshDatabase } from './support/app.js';
import { openStream } from './support/sse.js';

/** Every line the app's logger writes, as pino hands it over. */
class Capture {
  lines: string[] = [];
  write(chunk: string): void {
    this.lines.push(...chunk.split('\n').filter(Boolean));
  }
  get text(): string {
    return this.lines.join('\n');
  }
  get records(): any[] {
    return this.lines.map((l) => JSON.parse(l));
  }
  requestLines(method: string, url: string): any[] {
    return this.records.filter((r) => r.req?.method === method && r.req?.url === url);
  }
  async waitFor(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`no log line: ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

const PASSWORD = 'Secret-Pass-9731';

let db: { url: string; drop: () => Promise<void> };
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => {
  await db.drop();
});

async function start(logLevel: string, capture: Capture): Promise<{ app: INestApplication; baseUrl: string }> {
  const config = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'notif-test-')),
    SESSION_SECRET: 'test-secret-test-secret-test-secret-0123',
    LOG_LEVEL: logLevel,
  });
  const app = await createApp(config, db.url, { logDestination: capture });
  await app.listen(0, '127.0.0.1');
  const address = (app.getHttpServer() as Server).address();
  return { app, baseUrl: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` };
}

describe('structured request logs', () => {
  const capture = new Capture();
  let app: INestApplication;
  let baseUrl: string;
  beforeAll(async () => {
    ({ app, baseUrl } = await start('info', capture));
  });
  afterAll(async () => {
    await app.close();
  });

  it('one JSON line per request with a request id, and no password, session cookie or CSRF token anywhere', async () => {
    const c = new Client(baseUrl);
    const secrets: string[] = [PASSWORD];
    const remember = () => {
      for (const [name, v] of c.cookies) {
        // The page's hint says only that a session was given ("1"): not a secret.
        if (name !== SESSION_HINT_COOKIE) secrets.push(v, decodeURIComponent(v));
      }
      if (c.csrfToken) secrets.push(c.csrfToken);
    };
    expect((await c.register('logs@example.com', PASSWORD)).status).toBe(201);
    remember();
    expect((await c.login('logs@example.com', 'Wrong-Pass-5555')).status).toBe(401);
    secrets.push('Wrong-Pass-5555');
    const login = await c.post(
      '/auth/login',
      { email: 'logs@example.com', password: PASSWORD },
      { headers: { 'x-request-id': 'req-login-1' } },
    );
    expect(login.status).toBe(200);
    c.csrfToken = login.body.csrfToken;
    expect(login.headers.get('x-request-id')).toBe('req-login-1'); // a given request id is echoed
    remember();
    const me = await c.get('/auth/me');
    expect(me.status).toBe(200);
    const stream = await openStream(baseUrl, c.cookieHeader);
    await stream.waitForEvent('ready');
    stream.close();
    expect((await c.post('/auth/logout')).status).toBe(204);

    await capture.waitFor(
      'the stream, logged when it ends',
      () => capture.requestLines('GET', '/notifications/stream').length === 1,
    );
    await capture.waitFor('logout', () => capture.requestLines('POST', '/auth/logout').length === 1);
    const records = capture.records; // every line parses as JSON

    const [line] = capture.requestLines('POST', '/auth/login').filter((r) => r.reqId === 'req-login-1');
    expect(line).toBeTruthy(); // the login request has its line, under the id the client gave
    expect(line.res.statusCode).toBe(200);
    expect(line.level).toBe('info');
    expect(typeof line.responseTime).toBe('number');
    expect(line.msg).toBe('request completed');
    expect(line.userId).toBe(login.body.user.id); // the signed-in user is on the line

    const [meLine] = capture.requestLines('GET', '/auth/me');
    expect(meLine.reqId).toBe(me.headers.get('x-request-id')); // a generated id is echoed and logged
    expect(meLine.reqId).toMatch(/^[0-9a-f-]{36}$/);
    for (const [method, url] of [
      ['POST', '/auth/register'],
      ['GET', '/auth/csrf'],
      ['POST', '/auth/logout'],
    ]) {
      expect(capture.requestLines(method, url).length).toBe(1); // `one line for ${method} ${url}`
    }
    expect(capture.requestLines('POST', '/auth/login').length).toBe(2); // failed and successful login
    expect(records.some((r) => r.context === 'NestApplication')).toBeTruthy(); // Nest's own logs are JSON lines too

    const text = capture.text;
    for (const secret of new Set(secrets)) {
      expect(!text.includes(secret)).toBeTruthy(); // `a secret (${secret.slice(0, 6)}…) appears in the logs`
    }
    expect(text).not.toMatch(/set-cookie|x-csrf-token|"cookie"|csrfToken/i);
  });

  it('redacts the token of an unsubscribe link, which is a credential in a URL (issue 19, finding 4)', async () => {
    const secret = '7.order.1790000000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
    expect((await fetch(`${baseUrl}/unsubscribe?token=${secret}`)).status).toBe(200);
    expect((await fetch(`${baseUrl}/unsubscribe?x=1&token=${secret}&y=2`, { method: 'POST' })).status).toBe(400);
    await capture.waitFor(
      'both',
      () => capture.records.filter((r) => r.req?.url?.startsWith('/unsubscribe')).length === 2,
    );
    expect(capture.records.filter((r) => r.req?.url?.startsWith('/unsubscribe')).map((r) => r.req.url)).toStrictEqual([
      '/unsubscribe?token=[redacted]',
      '/unsubscribe?x=1&token=[redacted]&y=2',
    ]);
    expect(capture.text).not.toContain(secret);
  });

  it('logs requests refused before routing, and replaces a request id that is not a short token', async () => {
    const res = await fetch(`${baseUrl}/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'not a token; ' + 'x'.repeat(200) },
      body: '{"email": ',
    });
    expect(res.status).toBe(400);
    const id = res.headers.get('x-request-id');
    expect(id ?? '').toMatch(/^[0-9a-f-]{36}$/);
    await capture.waitFor('the 400', () => capture.records.some((r) => r.reqId === id));
    const line = capture.records.find((r) => r.reqId === id);
    expect(line.res.statusCode).toBe(400);
    expect(line.req.url).toBe('/auth/register');
  });
});

describe('LOG_LEVEL', () => {
  it('at error, successful requests write nothing', async () => {
    const capture = new Capture();
    const { app, baseUrl } = await start('error', capture);
    try {
      const c = new Client(baseUrl);
      expect((await c.register('quiet@example.com', PASSWORD)).status).toBe(201);
      expect((await c.get('/health')).status).toBe(200);
      expect(capture.lines).toStrictEqual([]);
    } finally {
      await app.close();
    }
  });

  it('a level pino does not know stops the start, naming the variable', () => {
    expect(() => loadConfig({ LOG_LEVEL: 'verbose', SESSION_SECRET: 'x'.repeat(32) })).toThrow(
      /LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"/,
    );
  });
});
