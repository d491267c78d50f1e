import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { startTestApp, type TestApp } from './support/app.js';
import { Client } from './support/http.js';
import { deliveryStatuses, publishTo } from './support/publish.js';
import { startPushService, type TestPushService } from './support/push-service.js';
import { TestSmtpServer } from './support/smtp.js';
import { MAX_CONNECTIONS_PER_ORIGIN } from '../src/outbound/outbound-client.js';
import { until } from './support/until.js';

/*
 * Issue 19, finding 2: four accounts with ten push endpoints each on a server that accepts and
 * never answers held every send worker, and another user's email waited for them. Here the
 * healthy email and push must arrive while the slow requests are still open (causality, not a
 * stopwatch), at most MAX_CONNECTIONS_PER_ORIGIN connections reach the slow origin at once, and
 * the client's deadline closes every one of them (the server never does).
 */
let t: TestApp;
let smtp: TestSmtpServer;
let push: TestPushService;
let slow: https.Server;
let slowOrigin = '';
/** Sockets holding a request the slow server never answered. */
const held = new Set<Socket>();
let maxHeld = 0;
/** Until the client's deadline closes the first held connection; then everything is answered 201. */
let holding = true;
const answered = new Set<string>();

beforeAll(async () => {
  smtp = new TestSmtpServer();
  await smtp.start();
  const started = await startPushService();
  push = started.push;
  const dir = process.env.TEST_PUSH_TLS_DIR!;
  // Requests are held (never answered) until the client gives up on the first of them.
  slow = https.createServer(
    { key: readFileSync(join(dir, 'push.key')), cert: readFileSync(join(dir, 'push.pem')) },
    (req, res) => {
      req.resume();
      req.on('error', () => undefined);
      res.on('error', () => undefined);
      if (!holding) {
        answered.add(req.url ?? '');
        res.writeHead(201).end();
        return;
      }
      const socket = req.socket;
      held.add(socket);
      maxHeld = Math.max(maxHeld, held.size);
      socket.once('close', () => {
        held.delete(socket);
        holding = false;
      });
    },
  );
  await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
  slowOrigin = `https://127.0.0.1:${(slow.address() as AddressInfo).port}`;
  t = await startTestApp({
    ESCALATE_AFTER_MS: '300',
    SMTP_URL: smtp.url,
    ...started.env,
    PUSH_ENDPOINT_ALLOWLIST: `${push.origin},${slowOrigin}`,
  });
});
afterAll(async () => {
  await t?.close();
  slow?.closeAllConnections();
  await new Promise((r) => slow?.close(r));
  await smtp?.close();
  await push?.close();
});

describe('a destination that never answers (issue 19, finding 2)', () => {
  it("delays nobody else's email or push, holds a bounded number of connections, and each is closed at its deadline", async () => {
    const keys = push.subscription().keys;
    const slowUsers = await Promise.all(
      [0, 1, 2, 3].map(async (u) => {
        const c = new Client(t.baseUrl);
        const { id } = await c.signUp(`slow-${u}@example.com`);
        // Email off for them: only their pushes are slow.
        await c.request('PUT', '/preferences', { delivery: { order: { email: false } } });
        for (let i = 0; i < 10; i++) {
          expect((await c.post('/push/subscriptions', { endpoint: `${slowOrigin}/s/${u}-${i}`, keys })).status).toBe(
            201,
          );
        }
        return id;
      }),
    );
    const pushUser = new Client(t.baseUrl);
    const pushUserId = (await pushUser.signUp('healthy-push@example.com')).id;
    const healthy = push.subscription();
    await pushUser.post('/push/subscriptions', { endpoint: healthy.endpoint, keys: healthy.keys });
    const mailUserId = (await new Client(t.baseUrl).signUp('healthy-mail@example.com')).id;

    // One slow user after the other, each job in flight before the next is published: with
    // workers that each hold a fetched batch, four such jobs occupied all four of them.
    const slowRows = [];
    for (const id of slowUsers) {
      const row = await publishTo(t, id, { title: 'slow' });
      await until(
        'the slow push in flight',
        () => deliveryStatuses(t, row.id),
        (r) => r.length === 1 && r[0].status === 'sending',
      );
      slowRows.push(row);
    }
    await publishTo(t, pushUserId, { title: 'fast push' });
    await publishTo(t, mailUserId, { title: 'fast mail' });

    await push.waitFor(1, (p) => p.endpoint === healthy.endpoint);
    const heldWhenPushArrived = held.size;
    await smtp.waitFor(1, 'healthy-mail@example.com');
    const heldWhenMailArrived = held.size;
    expect(heldWhenPushArrived).toBeGreaterThan(0);
    expect(heldWhenMailArrived).toBeGreaterThan(0);

    // The first attempt ends at the deadline ("timed out"; those that found no free connection
    // slot time out sooner), its connections closed by the client; a retry is answered.
    const ids = slowRows.map((r) => String(r.id));
    const rows = await until(
      'the slow pushes',
      async () =>
        (
          await t.db.query(
            `SELECT status, attempts, error FROM deliveries WHERE notification_id = ANY ($1::bigint[]) AND method = 'push'`,
            [ids],
          )
        ).rows as Array<{ status: string; attempts: number; error: string }>,
      (r) => r.length === 4 && r.every((x) => x.status === 'sent'),
    );
    expect(rows.map((r) => [r.status, r.attempts >= 2, r.error])).toStrictEqual(
      Array.from({ length: 4 }, () => ['sent', true, 'timed out']),
    );
    expect(held.size).toBe(0);
    expect(maxHeld).toBeGreaterThan(0);
    expect(maxHeld).toBeLessThanOrEqual(MAX_CONNECTIONS_PER_ORIGIN);
    // Each of the 40 endpoints was answered once its retry came.
    expect(answered.size).toBe(40);
  });
});
