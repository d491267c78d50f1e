import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TwilioRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  contentType: string | undefined;
  form: Record<string, string>;
}

/**
 * A stand-in for Twilio's Messages API on loopback: records every request as it came and
 * answers with the next status of `answers` (then 201), as Twilio's JSON would.
 */
export class TestTwilio {
  readonly requests: TwilioRequest[] = [];
  answers: number[] = [];
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      this.requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        authorization: req.headers.authorization,
        contentType: req.headers['content-type'],
        form: Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))),
      });
      const status = this.answers.shift() ?? 201;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify(status < 300 ? { sid: `SM${this.requests.length}`, status: 'queued' } : { status, code: 20001 }),
      );
      for (const w of this.waiting.splice(0)) w();
    });
  });
  private waiting: Array<() => void> = [];

  async start(): Promise<void> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** SMS_URL with the account in its user part, as the contract has it. */
  url(sid: string, token: string): string {
    return `http://${sid}:${token}@127.0.0.1:${this.port}`;
  }

  /** Resolves once `n` requests have been answered. */
  async received(n: number): Promise<TwilioRequest[]> {
    while (this.requests.length < n) await new Promise<void>((r) => this.waiting.push(r));
    return this.requests.slice(0, n);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
