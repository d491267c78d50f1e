import { EventEmitter, once } from 'node:events';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface ChatRequest {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: any;
  /** When it arrived (epoch ms). */
  at: number;
}

export interface ChatAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/**
 * Slack's, Discord's and Teams' incoming webhooks stood in for by one HTTPS server on 127.0.0.1
 * (the certificate test/jest/global-setup.mjs made, for 127.0.0.1 and `localhost`): it records
 * every POST and answers as the real ones do on success (Slack 200 "ok", Discord 204, Teams
 * Workflows 202) unless a test scripted answers for a path (`script('/x', [{ status: 429 }])`).
 * The app reaches it as https://localhost:<port>, `localhost` resolved by the tests' DNS server.
 */
export class TestChatService extends EventEmitter {
  readonly received: ChatRequest[] = [];
  private readonly scripts = new Map<string, ChatAnswer[]>();
  private server!: https.Server;
  port = 0;

  get origin(): string {
    return `https://localhost:${this.port}`;
  }

  async start(): Promise<void> {
    const dir = process.env.TEST_PUSH_TLS_DIR;
    if (!dir) throw new Error('TEST_PUSH_TLS_DIR is unset: run through Jest (test/jest/global-setup.mjs)');
    this.server = https.createServer(
      { key: readFileSync(join(dir, 'push.key')), cert: readFileSync(join(dir, 'push.pem')) },
      (req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const path = req.url ?? '';
          let body: unknown;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            body = Buffer.concat(chunks).toString('utf8');
          }
          const request: ChatRequest = { path, headers: req.headers, body, at: Date.now() };
          this.received.push(request);
          const answer = this.scripts.get(path)?.shift() ?? success(path);
          res.writeHead(answer.status, answer.headers).end(answer.body);
          this.emit('request', request);
        });
      },
    );
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** The next answers for `path`, in order; then the default success. */
  script(path: string, answers: ChatAnswer[]): void {
    this.scripts.set(path, [...(this.scripts.get(path) ?? []), ...answers]);
  }

  to(path: string): ChatRequest[] {
    return this.received.filter((r) => r.path === path);
  }

  /** Resolves with the `n`th request to `path` (1-based), now or once it arrives. */
  async nth(path: string, n: number, timeoutMs = 45_000): Promise<ChatRequest> {
    const signal = AbortSignal.timeout(timeoutMs);
    while (this.to(path).length < n) {
      await once(this, 'request', { signal }).catch(() => {
        throw new Error(`request ${n} to ${path} did not come (${this.to(path).length} came)`);
      });
    }
    return this.to(path)[n - 1];
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

function success(path: string): ChatAnswer {
  if (path.startsWith('/slack')) return { status: 200, headers: { 'content-type': 'text/plain' }, body: 'ok' };
  if (path.startsWith('/discord')) return { status: 204 };
  return { status: 202 };
}
