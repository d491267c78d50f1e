import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { countReached } from './until.js';

export interface ReceivedWebhook {
  headers: http.IncomingHttpHeaders;
  /** The body exactly as it came (what the signature covers). */
  body: string;
  /** What this receiver answered; null: it never answers. */
  status: number | null;
  at: number;
}

/** An answer: a status (and headers), or 'hang' (keep the request open, never answer). */
export type Answer = number | { status: number; headers: Record<string, string> } | 'hang';

/**
 * A webhook receiver of the tests' own on 127.0.0.1, over HTTPS (the certificate that
 * test/jest/global-setup.mjs made, trusted by the app through NODE_EXTRA_CA_CERTS) or plain
 * HTTP. It records every request and answers from a script (then 200 or `fallback`).
 */
export class WebhookReceiver extends EventEmitter {
  readonly received: ReceivedWebhook[] = [];
  private readonly script: Answer[] = [];
  private server!: http.Server;
  origin = '';

  constructor(
    private readonly tls = true,
    public fallback: Answer = 200,
  ) {
    super();
  }

  async start(): Promise<this> {
    const handler: http.RequestListener = (req, res) => {
      const chunks: Buffer[] = [];
      req.on('error', () => undefined);
      res.on('error', () => undefined);
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const answer = this.script.shift() ?? this.fallback;
        const status = answer === 'hang' ? null : typeof answer === 'number' ? answer : answer.status;
        const got: ReceivedWebhook = {
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          status,
          at: Date.now(),
        };
        this.received.push(got);
        if (answer !== 'hang') res.writeHead(status!, typeof answer === 'object' ? answer.headers : {}).end('ok');
        this.emit('request', got);
      });
    };
    if (this.tls) {
      const dir = process.env.TEST_PUSH_TLS_DIR;
      if (!dir) throw new Error('TEST_PUSH_TLS_DIR is unset: run through Jest (test/jest/global-setup.mjs)');
      this.server = https.createServer(
        { key: readFileSync(join(dir, 'push.key')), cert: readFileSync(join(dir, 'push.pem')) },
        handler,
      );
    } else {
      this.server = http.createServer(handler);
    }
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    const port = (this.server.address() as AddressInfo).port;
    this.origin = `${this.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
    return this;
  }

  /** The next requests get these answers, in order. */
  answer(...answers: Answer[]): void {
    this.script.push(...answers);
  }

  /** Resolves once `n` requests matching `filter` came (counting those already here). */
  waitFor(
    n: number,
    filter: (r: ReceivedWebhook) => boolean = () => true,
    timeoutMs = 60_000,
  ): Promise<ReceivedWebhook[]> {
    return countReached(
      this,
      'request',
      () => this.received.filter(filter),
      n,
      timeoutMs,
      (count) => `webhook receiver ${this.origin}: ${count} of ${n} requests`,
    );
  }

  /** The parsed bodies of the requests so far of this event type. */
  ofType(type: string): ReceivedWebhook[] {
    return this.received.filter((r) => (JSON.parse(r.body) as { type: string }).type === type);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
