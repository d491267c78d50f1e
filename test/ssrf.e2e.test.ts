import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import net from 'node:net';
import { startTestApp, type TestApp } from './support/app.js';
import { Client } from './support/http.js';
import { TestDnsServer } from './support/dns.js';
import { publishTo } from './support/publish.js';
import { startPushService, type TestPushService } from './support/push-service.js';
import { until } from './support/until.js';

/*
 * Issue 19, finding 1: a push endpoint is a URL the server dials. Whatever a user stores, the
 * server must not connect to a loopback or private address, and what the user can read back
 * (the delivery log) is a category, never a socket error, host or address. The "forbidden"
 * targets are real listeners on loopback (a random 127/8 address and [::1], port 443, where a
 * parser that read another host would connect); names resolve through a DNS server of the test's
 * own (OUTBOUND_DNS_SERVER).
 */
let t: TestApp;
let push: TestPushService;
let dns: TestDnsServer;
const forbidden: Array<{ host: string; server: net.Server; connections: number }> = [];
/** A loopback address of this run, so parallel runs on the machine do not share port 443. */
const V4 = `127.${1 + Math.floor(Math.random() * 254)}.${Math.floor(Math.random() * 256)}.${2 + Math.floor(Math.random() * 250)}`;

async function listen443(host: string): Promise<void> {
  const entry = { host, server: net.createServer(), connections: 0 };
  entry.server.on('connection', (s) => {
    entry.connections++;
    s.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    entry.server.once('error', (err) => reject(new Error(`cannot listen on ${host}:443 (${(err as Error).message})`)));
    entry.server.listen(443, host, resolve);
  });
  forbidden.push(entry);
}

beforeAll(async () => {
  dns = new TestDnsServer();
  await dns.start();
  dns.set('loop4.push.test', [V4]);
  dns.set('loop6.push.test', ['::1']);
  dns.set('mixed.push.test', ['::1', V4]);
  await listen443(V4);
  await listen443('::1');
  const started = await startPushService();
  push = started.push;
  t = await startTestApp({
    ESCALATE_AFTER_MS: '300',
    ...started.env,
    PUSH_ENDPOINT_ALLOWLIST: `${push.origin},*.push.apple.com,*.push.test`,
    OUTBOUND_DNS_SERVER: dns.address,
  });
});
afterAll(async () => {
  await t?.close();
  await push?.close();
  await dns?.close();
  for (const f of forbidden) await new Promise((r) => f.server.close(r));
});

/** The spellings that passed the WHATWG check and were dialled as the part before the quote. */
const differentials = ["'", ';', '{', '}', '"', '`'].map((c) => `https://${V4}${c}.push.apple.com/x`);
const literals = [
  'https://user@web.push.apple.com/x',
  'https://@web.push.apple.com/x',
  `https://${V4}/x`,
  'https://2130706433/x',
  'https://0x7f000002/x',
  'https://[::1]/x',
  'https://[::ffff:127.0.0.2]/x',
  'https://web.push.apple.com./x',
  'https://web.push.apple.com:8443/x',
];

describe('push endpoints (issue 19, finding 1)', () => {
  it('are refused at subscription time in every spelling that could reach another host: 400, nothing stored', async () => {
    const c = new Client(t.baseUrl);
    const u = await c.signUp('ssrf-subscribe@example.com');
    const keys = push.subscription().keys;
    for (const endpoint of [...differentials, ...literals]) {
      const res = await c.post('/push/subscriptions', { endpoint, keys });
      expect([endpoint, res.status]).toStrictEqual([endpoint, 400]);
    }
    // A name under an allowed pattern is accepted when subscribing: its addresses are checked
    // at every connection, not once (DNS answers change).
    expect((await c.post('/push/subscriptions', { endpoint: 'https://loop4.push.test/sub', keys })).status).toBe(201);
    const rows = await t.db.query(`SELECT endpoint FROM push_subscriptions WHERE user_id = $1`, [u.id]);
    expect(rows.rows).toStrictEqual([{ endpoint: 'https://loop4.push.test/sub' }]);
  });

  it('stored by other means, are never dialled, and the delivery log shows only a category', async () => {
    const cases: Array<{ endpoint: string; error: string }> = [
      ...differentials.map((endpoint) => ({ endpoint, error: 'refused: not an allowed URL' })),
      ...literals.map((endpoint) => ({ endpoint, error: 'refused: not an allowed URL' })),
      { endpoint: 'https://loop4.push.test/x', error: 'refused: private address' },
      { endpoint: 'https://loop6.push.test/x', error: 'refused: private address' },
      { endpoint: 'https://mixed.push.test/x', error: 'refused: private address' },
    ];
    const keys = push.subscription().keys;
    const sent = await Promise.all(
      cases.map(async ({ endpoint, error }, i) => {
        const c = new Client(t.baseUrl);
        const u = await c.signUp(`ssrf-send-${i}@example.com`);
        await t.db.query(`INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth) VALUES ($1, $2, $3, $4)`, [
          u.id,
          endpoint,
          keys.p256dh,
          keys.auth,
        ]);
        const row = await publishTo(t, u.id, { title: 'Hello' });
        return { c, id: String(row.id), endpoint, error };
      }),
    );
    for (const s of sent) {
      const log = await until(
        `the push of ${s.endpoint}`,
        async () =>
          ((await s.c.get(`/notifications/${s.id}/deliveries`)).body as Array<Record<string, unknown>>).filter(
            (r) => r.method === 'push',
          ),
        (rows) => rows.length > 0 && rows.every((r) => r.status !== 'scheduled'),
      );
      expect([s.endpoint, log]).toStrictEqual([
        s.endpoint,
        [{ method: 'push', status: 'failed', attempts: 1, sentAt: null, error: s.error }],
      ]);
    }
    // Every outcome is recorded only after its request ended: any connection would be counted by now.
    expect(forbidden.map((f) => [f.host, f.connections])).toStrictEqual([
      [V4, 0],
      ['::1', 0],
    ]);
    expect(push.received).toStrictEqual([]);
  });
});
