import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { countReached } from './until.js';

export interface ReceivedMail {
  to: string;
  mail: ParsedMail;
}

/**
 * A real SMTP server on 127.0.0.1 (the `smtp-server` package): every accepted
 * message parsed with mailparser. `failNext(n, code)` answers the next n
 * messages with a temporary (4xx) or permanent (5xx) error.
 */
export class TestSmtpServer extends EventEmitter {
  readonly received: ReceivedMail[] = [];
  /** Messages refused on purpose. */
  refused = 0;
  private failures: Array<{ code: number; to: string | undefined }> = [];
  private server!: SMTPServer;
  port = 0;

  /** Connections accepted so far. */
  connections = 0;
  /** Per accepted message: whether its session had been upgraded to TLS. */
  readonly secure: boolean[] = [];

  /**
   * `starttls`: offer STARTTLS with smtp-server's built-in certificate (expired, self-signed), as
   * the package does by default; `auth`: also offer AUTH (any credentials accepted).
   */
  constructor(private readonly options: { starttls?: boolean; auth?: boolean } = {}) {
    super();
  }

  async start(): Promise<void> {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: [...(this.options.starttls ? [] : ['STARTTLS']), ...(this.options.auth ? [] : ['AUTH'])],
      allowInsecureAuth: true,
      onAuth: (_auth, _session, callback) => callback(null, { user: 'test' }),
      onConnect: (_session, callback) => {
        this.connections++;
        callback();
      },
      logger: false,
      size: 10 * 1024 * 1024,
      onData: (stream, session, callback) => {
        this.secure.push(session.secure);
        const to = session.envelope.rcptTo.map((r) => r.address).join(',');
        const i = this.failures.findIndex((f) => f.to === undefined || f.to === to);
        const code = i >= 0 ? this.failures.splice(i, 1)[0].code : undefined;
        simpleParser(stream)
          .then((mail) => {
            if (code) {
              this.refused++;
              const err = Object.assign(new Error(`Try again later (${code})`), { responseCode: code });
              callback(err);
              this.emit('refused', code);
              return;
            }
            this.received.push({ to, mail });
            callback();
            this.emit('mail', { to, mail });
          })
          .catch((err: Error) => callback(err));
      },
    });
    // A client that goes away mid-session (the fault tests kill instances) is an ordinary event
    // for a mail server: counted, not an unhandled 'error' that fails the whole test file.
    this.server.on('error', () => this.connectionErrors++);
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.server.address() as AddressInfo).port;
  }

  /** Connections that ended in a socket error (a killed client). */
  connectionErrors = 0;

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  /** Refuse the next n messages (to `to`, or to anyone) with this SMTP code. */
  failNext(n: number, code = 451, to?: string): void {
    for (let i = 0; i < n; i++) this.failures.push({ code, to });
  }

  to(address: string): ReceivedMail[] {
    return this.received.filter((m) => m.to === address);
  }

  /** Resolves once `n` messages to `address` (or in all, without one) arrived. */
  waitFor(n: number, address?: string, timeoutMs = 60_000): Promise<ReceivedMail[]> {
    return countReached(
      this,
      'mail',
      () => (address ? this.to(address) : this.received),
      n,
      timeoutMs,
      (count) => `smtp: ${count} of ${n} messages${address ? ` to ${address}` : ''}`,
    );
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
