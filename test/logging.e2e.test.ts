import type { INestApplication } from '@nestjs/common';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createApp } from '../src/app.factory.js';
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
before(async () => {
  db = await freshDatabase();
});
after(async () => {
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
  before(async () => {
    ({ app, baseUrl } = await start('info', capture));
  });
  after(async () => {
    await app.close();
  });

  it('one JSON line per request with a request id, and no password, session cookie or CSRF token anywhere', async () => {
    const c = new Client(baseUrl);
    const secrets: string[] = [PASSWORD];
    const remember = () => {
      for (const v of c.cookies.values()) secrets.push(v, decodeURIComponent(v));
      if (c.csrfToken) secrets.push(c.csrfToken);
    };
    assert.equal((await c.register('logs@example.com', PASSWORD)).status, 201);
    remember();
    assert.equal((await c.login('logs@example.com', 'Wrong-Pass-5555')).status, 401);
    secrets.push('Wrong-Pass-5555');
    const login = await c.post(
      '/auth/login',
      { email: 'logs@example.com', password: PASSWORD },
      { headers: { 'x-request-id': 'req-login-1' } },
    );
    assert.equal(login.status, 200);
    c.csrfToken = login.body.csrfToken;
    assert.equal(login.headers.get('x-request-id'), 'req-login-1', 'a given request id is echoed');
    remember();
    const me = await c.get('/auth/me');
    assert.equal(me.status, 200);
    const stream = await openStream(baseUrl, c.cookieHeader);
    await stream.waitForEvent('ready');
    stream.close();
    assert.equal((await c.post('/auth/logout')).status, 204);

    await capture.waitFor(
      'the stream, logged when it ends',
      () => capture.requestLines('GET', '/notifications/stream').length === 1,
    );
    await capture.waitFor('logout', () => capture.requestLines('POST', '/auth/logout').length === 1);
    const records = capture.records; // every line parses as JSON

    const [line] = capture.requestLines('POST', '/auth/login').filter((r) => r.reqId === 'req-login-1');
    assert.ok(line, 'the login request has its line, under the id the client gave');
    assert.equal(line.res.statusCode, 200);
    assert.equal(line.level, 'info');
    assert.equal(typeof line.responseTime, 'number');
    assert.equal(line.msg, 'request completed');
    assert.equal(line.userId, login.body.user.id, 'the signed-in user is on the line');

    const [meLine] = capture.requestLines('GET', '/auth/me');
    assert.equal(meLine.reqId, me.headers.get('x-request-id'), 'a generated id is echoed and logged');
    assert.match(meLine.reqId, /^[0-9a-f-]{36}$/);
    for (const [method, url] of [
      ['POST', '/auth/register'],
      ['GET', '/auth/csrf'],
      ['POST', '/auth/logout'],
    ]) {
      assert.equal(capture.requestLines(method, url).length, 1, `one line for ${method} ${url}`);
    }
    assert.equal(capture.requestLines('POST', '/auth/login').length, 2, 'failed and successful login');
    assert.ok(
      records.some((r) => r.context === 'NestApplication'),
      "Nest's own logs are JSON lines too",
    );

    const text = capture.text;
    for (const secret of new Set(secrets)) {
      assert.ok(!text.includes(secret), `a secret (${secret.slice(0, 6)}…) appears in the logs`);
    }
    assert.doesNotMatch(text, /set-cookie|x-csrf-token|"cookie"|csrfToken/i);
  });

  it('logs requests refused before routing, and replaces a request id that is not a short token', async () => {
    const res = await fetch(`${baseUrl}/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'not a token; ' + 'x'.repeat(200) },
      body: '{"email": ',
    });
    assert.equal(res.status, 400);
    const id = res.headers.get('x-request-id');
    assert.match(id ?? '', /^[0-9a-f-]{36}$/);
    await capture.waitFor('the 400', () => capture.records.some((r) => r.reqId === id));
    const line = capture.records.find((r) => r.reqId === id);
    assert.equal(line.res.statusCode, 400);
    assert.equal(line.req.url, '/auth/register');
  });
});

describe('LOG_LEVEL', () => {
  it('at error, successful requests write nothing', async () => {
    const capture = new Capture();
    const { app, baseUrl } = await start('error', capture);
    try {
      const c = new Client(baseUrl);
      assert.equal((await c.register('quiet@example.com', PASSWORD)).status, 201);
      assert.equal((await c.get('/health')).status, 200);
      assert.deepEqual(capture.lines, []);
    } finally {
      await app.close();
    }
  });

  it('a level pino does not know stops the start, naming the variable', () => {
    assert.throws(
      () => loadConfig({ LOG_LEVEL: 'verbose', SESSION_SECRET: 'x'.repeat(32) }),
      /LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"/,
    );
  });
});
