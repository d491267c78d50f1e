import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { dnsServerResolve, lookupThrough } from '../src/outbound/addresses.js';
import { OutboundClient } from '../src/outbound/outbound-client.js';
import { OutboundError } from '../src/outbound/outbound-error.js';
import { allowlistRules } from '../src/outbound/target.js';
import { TestDnsServer } from './support/dns.js';

/*
 * The outbound client against real servers on loopback, reached by names that a DNS server of
 * the test's own resolves: what a chat or webhook sender gets from it (status, headers, a bounded
 * body, no redirects), and that a deadline or an abort closes the connection for real.
 */
let dns: TestDnsServer;
let server: http.Server;
let port = 0;
const open = new Set<Socket>();
let closedSockets = 0;
const received: Array<{ url: string; headers: http.IncomingHttpHeaders; body: string }> = [];

beforeAll(async () => {
  dns = new TestDnsServer();
  await dns.start();
  dns.set('receiver.test', ['127.0.0.1']);
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() });
      if (req.url === '/redirect') res.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' }).end();
      else if (req.url === '/big') res.end(Buffer.alloc(1024 * 1024, 'x'));
      else if (req.url === '/slow')
        return; // accepts, never answers
      else res.writeHead(429, { 'retry-after': '7', 'content-type': 'application/json' }).end('{"ok":false}');
    });
  });
  server.on('connection', (s: Socket) => {
    open.add(s);
    s.on('close', () => {
      open.delete(s);
      closedSockets++;
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await dns?.close();
});

/** A client closed after the test that made it, failed or not. */
const clients: OutboundClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});
const client = () => {
  const c = new OutboundClient({ resolve: dnsServerResolve(dns.address) });
  clients.push(c);
  return c;
};
const rules = () => allowlistRules([`http://receiver.test:${port}`]);

describe('OutboundClient', () => {
  it('posts JSON or a form to a named origin, answers status, headers and body, and follows no redirect', async () => {
    const c = client();
    const res = await c.request(c.check(`http://receiver.test:${port}/hook?x=1`, rules()), {
      json: { text: 'hi' },
      headers: { 'x-extra': 'yes' },
    });
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBe('7');
    expect(res.body.toString()).toBe('{"ok":false}');
    expect(received.at(-1)).toMatchObject({
      url: '/hook?x=1',
      headers: { 'content-type': 'application/json', 'x-extra': 'yes', host: `receiver.test:${port}` },
      body: '{"text":"hi"}',
    });
    await c.request(c.check(`http://receiver.test:${port}/form`, rules()), { form: { To: '+49', Body: 'a b' } });
    expect(received.at(-1)?.body).toBe('To=%2B49&Body=a+b');
    const redirect = await c.request(c.check(`http://receiver.test:${port}/redirect`, rules()));
    expect(redirect.status).toBe(302);
    expect(received.at(-1)?.url).toBe('/redirect');
    const big = await c.request(c.check(`http://receiver.test:${port}/big`, rules()), { maxResponseBytes: 1000 });
    expect([big.status, big.body.length, big.truncated]).toStrictEqual([200, 1000, true]);
  });

  it('gives up at its deadline or when aborted, and closes the connection', async () => {
    const c = client();
    const target = c.check(`http://receiver.test:${port}/slow`, rules());
    const before = closedSockets;
    const timedOut = c.request(target, { timeoutMs: 300 });
    await expect(timedOut).rejects.toMatchObject({ category: 'timed out' });
    const controller = new AbortController();
    const arrived = once(server, 'request');
    const aborted = c.request(target, { signal: controller.signal });
    await arrived;
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ category: 'cancelled' });
    // The server sees both connections closed: nothing is left to reconnect in the background.
    await new Promise<void>((resolve) => {
      const check = () => (closedSockets - before >= 2 && open.size === 0 ? resolve() : setTimeout(check, 20));
      check();
    });
    expect(open.size).toBe(0);
  });

  it('refuses a request whose signal is already aborted: cancelled, nothing dialled, no stray error', async () => {
    const c = client();
    const target = c.check(`http://receiver.test:${port}/hook`, rules());
    const before = received.length;
    // The request was destroyed before its error listener was on: Node's "socket hang up"
    // went unheard, an uncaught exception (it failed this suite's sibling in CI).
    await expect(c.request(target, { signal: AbortSignal.abort() })).rejects.toMatchObject({ category: 'cancelled' });
    await new Promise((r) => setImmediate(r));
    expect(received.length).toBe(before);
  });

  it('refuses a name that resolves to a private address, asking DNS again at every connection', async () => {
    dns.set('rebind.test', ['127.0.0.2']);
    const lookup = lookupThrough(dnsServerResolve(dns.address), true);
    const look = () =>
      new Promise<unknown>((resolve) =>
        lookup('rebind.test', { all: true }, (err, addresses) => resolve(err ?? addresses)),
      );
    const first = await look();
    expect(first).toBeInstanceOf(OutboundError);
    expect((first as OutboundError).category).toBe('refused: private address');
    // The answer changes: the next connection sees the new one, not a cached verdict.
    dns.set('rebind.test', ['::1']);
    expect(((await look()) as OutboundError).detail).toBe('rebind.test resolves to ::1');
    expect(dns.queries.filter((q) => q === 'rebind.test').length).toBeGreaterThanOrEqual(4);
    // Unfiltered (an exact origin the operator named), the same lookup answers the address.
    const trusted = lookupThrough(dnsServerResolve(dns.address), false);
    const addresses = await new Promise((resolve) =>
      trusted('rebind.test', { all: true }, (err, a) => resolve(err ?? a)),
    );
    expect(addresses).toStrictEqual([{ address: '::1', family: 6 }]);
  });
});
