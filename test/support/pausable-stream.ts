import { createParser } from 'eventsource-parser';
import http from 'node:http';
import { CHANNELS } from '../../client/registry.js';

/**
 * A stream whose reader can stop reading: pausing the response stops reading
 * the socket, so TCP backpressure builds up to the server, as with a client
 * on a stalled network or a frozen tab.
 */
export class PausableStream {
  readonly ids: string[] = [];
  readonly eventNames: string[] = [];
  ended = false;
  private res: http.IncomingMessage | null = null;

  private constructor() {}

  static open(url: string, headers: Record<string, string>): Promise<PausableStream> {
    const s = new PausableStream();
    const parser = createParser({
      onEvent: (e) => {
        s.eventNames.push(e.event ?? 'message');
        if ((CHANNELS as readonly string[]).includes(e.event ?? '') && e.id !== undefined) s.ids.push(e.id);
      },
    });
    return new Promise((resolve, reject) => {
      const req = http.get(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
        s.res = res;
        if (res.statusCode !== 200) return reject(new Error(`stream answered ${res.statusCode}`));
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          parser.feed(chunk);
          if (s.eventNames.includes('ready')) resolve(s);
        });
        const end = () => (s.ended = true);
        res.on('end', end);
        res.on('close', end);
        res.on('error', end);
      });
      req.on('error', reject);
    });
  }

  pause(): void {
    this.res?.pause();
  }

  resume(): void {
    this.res?.resume();
  }

  close(): void {
    this.res?.destroy();
  }

  async waitForEnd(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      if (Date.now() > deadline) throw new Error(`stream did not end (got ${this.ids.length} notifications)`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
