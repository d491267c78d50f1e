import { createECDH, createDecipheriv, createPublicKey, hkdfSync, randomBytes, verify } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { loadConfig } from '../../src/config/env.js';
import { countReached } from './until.js';

/** A browser's side of a push subscription: its key pair and auth secret. */
export interface TestSubscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
  ecdh: ReturnType<typeof createECDH>;
  authSecret: Buffer;
}

export interface ReceivedPush {
  endpoint: string;
  /** The decrypted payload, parsed. */
  payload: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
  status: number;
}

/**
 * A Web Push service of the tests' own (RFC 8030 receiving side), over HTTPS on
 * 127.0.0.1 with the certificate test/jest/global-setup.mjs made. For every
 * request it checks the VAPID JWT (RFC 8292: ES256 by the app's public key,
 * aud = this origin, exp in the future and within 24 h) and decrypts the body
 * (RFC 8291 aes128gcm) with the subscription's private key. A test scripts the
 * answers per endpoint (e.g. [429, 500] then the default 201).
 */
export class TestPushService extends EventEmitter {
  readonly received: ReceivedPush[] = [];
  /** Requests refused because the VAPID or the encryption was wrong. */
  readonly rejected: string[] = [];
  private readonly subscriptions = new Map<string, TestSubscription>();
  private readonly scripts = new Map<string, number[]>();
  private server!: https.Server;
  origin = '';

  constructor(private readonly vapidPublicKey: string) {
    super();
  }

  async start(): Promise<void> {
    const dir = process.env.TEST_PUSH_TLS_DIR;
    if (!dir) throw new Error('TEST_PUSH_TLS_DIR is unset: run through Jest (test/jest/global-setup.mjs)');
    // Jest may run a single file in its own process, started before the CA existed.
    const ca = readFileSync(join(dir, 'ca.pem'), 'utf8');
    https.globalAgent.options.ca = [...tls.rootCertificates, ca];
    this.server = https.createServer(
      { key: readFileSync(join(dir, 'push.key')), cert: readFileSync(join(dir, 'push.pem')) },
      (req, res) => {
        const chunks: Buffer[] = [];
        // A sender killed mid-request (the fault tests) resets the socket: nothing to answer.
        req.on('error', () => undefined);
        res.on('error', () => undefined);
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const endpoint = `${this.origin}${req.url}`;
          let payload: Record<string, unknown>;
          try {
            this.checkVapid(String(req.headers.authorization ?? ''));
            if (req.headers['content-encoding'] !== 'aes128gcm') throw new Error('not aes128gcm');
            if (!/^\d+$/.test(String(req.headers.ttl ?? ''))) throw new Error('no TTL');
            const sub = this.subscriptions.get(endpoint);
            if (!sub) throw new Error(`unknown endpoint ${endpoint}`);
            payload = JSON.parse(decrypt(Buffer.concat(chunks), sub).toString('utf8')) as Record<string, unknown>;
          } catch (err) {
            this.rejected.push((err as Error).message);
            res.writeHead(400).end();
            this.emit('rejected', (err as Error).message);
            return;
          }
          const status = this.scripts.get(endpoint)?.shift() ?? 201;
          const push: ReceivedPush = { endpoint, payload, headers: req.headers, status };
          this.received.push(push);
          res.writeHead(status).end();
          this.emit('push', push);
        });
      },
    );
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.origin = `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** A new browser subscription on this service. */
  subscription(): TestSubscription {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const authSecret = randomBytes(16);
    const endpoint = `${this.origin}/push/${randomBytes(12).toString('hex')}`;
    const sub: TestSubscription = {
      endpoint,
      keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: authSecret.toString('base64url') },
      ecdh,
      authSecret,
    };
    this.subscriptions.set(endpoint, sub);
    return sub;
  }

  /** Answer the next requests to this endpoint with these statuses (then 201). */
  script(endpoint: string, statuses: number[]): void {
    this.scripts.set(endpoint, [...statuses]);
  }

  /** Accepted pushes (2xx) so far to this endpoint. */
  accepted(endpoint?: string): ReceivedPush[] {
    return this.received.filter((p) => p.status < 300 && (!endpoint || p.endpoint === endpoint));
  }

  /** Resolves once `n` pushes matching `filter` were received (any status). */
  waitFor(n: number, filter: (p: ReceivedPush) => boolean = () => true, timeoutMs = 60_000): Promise<ReceivedPush[]> {
    return countReached(
      this,
      'push',
      () => this.received.filter(filter),
      n,
      timeoutMs,
      (count) => `push service: ${count} of ${n} pushes; rejected: ${this.rejected.join('; ')}`,
    );
  }

  private checkVapid(header: string): void {
    const m = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(header);
    if (!m) throw new Error(`bad Authorization: ${header.slice(0, 40)}`);
    const [, jwt, k] = m;
    if (k !== this.vapidPublicKey) throw new Error('VAPID key is not the app public key');
    const [h, p, s] = jwt.split('.');
    const head = JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg: string };
    if (head.alg !== 'ES256') throw new Error('JWT alg is not ES256');
    const raw = Buffer.from(k, 'base64url');
    const key = createPublicKey({
      key: {
        kty: 'EC',
        crv: 'P-256',
        x: raw.subarray(1, 33).toString('base64url'),
        y: raw.subarray(33).toString('base64url'),
      },
      format: 'jwk',
    });
    const ok = verify(
      'sha256',
      Buffer.from(`${h}.${p}`),
      { key, dsaEncoding: 'ieee-p1363' },
      Buffer.from(s, 'base64url'),
    );
    if (!ok) throw new Error('JWT signature invalid');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as { aud: string; exp: number; sub: string };
    if (claims.aud !== this.origin) throw new Error(`JWT aud ${claims.aud} is not ${this.origin}`);
    const now = Date.now() / 1000;
    if (!(claims.exp > now && claims.exp <= now + 24 * 3600 + 60)) throw new Error('JWT exp out of range');
    if (!/^(mailto:|https:)/.test(claims.sub)) throw new Error('JWT sub is not mailto: or https:');
  }
}

/** RFC 8291 / RFC 8188 aes128gcm, one record, as a browser decrypts it. */
function decrypt(body: Buffer, sub: TestSubscription): Buffer {
  const salt = body.subarray(0, 16);
  const idlen = body[20];
  const asPublic = body.subarray(21, 21 + idlen);
  const ciphertext = body.subarray(21 + idlen);
  const ecdhSecret = sub.ecdh.computeSecret(asPublic);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), sub.ecdh.getPublicKey(), asPublic]);
  const ikm = Buffer.from(hkdfSync('sha256', ecdhSecret, sub.authSecret, keyInfo, 32));
  const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
  const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
  const padded = Buffer.concat([decipher.update(ciphertext.subarray(0, ciphertext.length - 16)), decipher.final()]);
  // The last record ends with a 0x02 delimiter followed by zero padding.
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (padded[end] !== 2) throw new Error('bad padding delimiter');
  return padded.subarray(0, end);
}

/**
 * A started push service that checks the VAPID key this `env` gives the app (a fixed key pair, so
 * the service can check the JWT against it).
 */
export async function startPushService(): Promise<{ push: TestPushService; env: Record<string, string> }> {
  const vapid = loadConfig({ NODE_ENV: 'test', DATA_DIR: `/tmp/notif-vapid-${process.pid}` }).delivery.vapid;
  const push = new TestPushService(vapid.publicKey);
  await push.start();
  const env = {
    VAPID_PUBLIC_KEY: vapid.publicKey,
    VAPID_PRIVATE_KEY: vapid.privateKey,
    VAPID_SUBJECT: 'mailto:ops@shop.example',
  };
  return { push, env };
}
