import { Inject, Injectable, Logger, Module } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { APP_CONFIG } from '../../../config/config.module.js';
import type { AppConfig, SmsConfig } from '../../../config/env.js';
import { Outbound, OutboundModule } from '../../../outbound/outbound.module.js';
import { OutboundError } from '../../../outbound/outbound-error.js';
import type { Target } from '../../../outbound/target.js';
import { countSegments, fitSegments } from './segments.js';

export interface SmsMessage {
  /** E.164. */
  to: string;
  body: string;
}

/** A send that failed; `transient` ones (429, 5xx, the network) may pass later. */
export class SmsError extends Error {
  constructor(
    message: string,
    readonly transient: boolean,
  ) {
    super(message);
    this.name = 'SmsError';
  }
}

/**
 * SMS over Twilio's REST API (SMS_URL), or, without it, a `.txt` and a `.json` file per message in
 * DATA_DIR/outbox, as email does. SMS_URL is the operator's: its exact origin is dialled as named
 * through the one outbound machinery (a loopback stand-in for tests included), which keeps its
 * timeouts and error categories; no user ever supplies this URL.
 */
@Injectable()
export class SmsTransport {
  private readonly logger = new Logger('Sms');
  private readonly sms: SmsConfig | undefined;
  private readonly target: Target | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly outbound: Outbound,
  ) {
    this.sms = config.delivery.sms;
    if (this.sms) {
      const url = `${this.sms.baseUrl}/2010-04-01/Accounts/${encodeURIComponent(this.sms.accountSid)}/Messages.json`;
      this.target = outbound.check(url, { origins: [new URL(this.sms.baseUrl).origin], patterns: [] });
    }
  }

  /** Resolves once the provider accepted the message (2xx) or the files are written; else an SmsError. */
  async send(m: SmsMessage): Promise<void> {
    const body = fitSegments(m.body);
    if (!this.sms || !this.target) return this.writeToOutbox(m.to, body);
    const { accountSid, authToken, from } = this.sms;
    let status: number;
    try {
      ({ status } = await this.outbound.request(this.target, {
        method: 'POST',
        form: { To: m.to, From: from, Body: body },
        headers: {
          authorization: `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`,
          accept: 'application/json',
        },
      }));
    } catch (err) {
      if (err instanceof OutboundError) throw new SmsError(`SMS provider ${err.category}`, err.transient);
      throw err;
    }
    if (status >= 200 && status < 300) return;
    this.logger.debug(`SMS provider answered ${status}`);
    throw new SmsError(`SMS provider answered ${status}`, status === 429 || status >= 500);
  }

  private async writeToOutbox(to: string, body: string): Promise<void> {
    const dir = this.config.delivery.outboxDir;
    await mkdir(dir, { recursive: true });
    const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-sms-${randomBytes(4).toString('hex')}`;
    const from = this.sms?.from ?? null;
    await writeFile(join(dir, `${name}.txt`), `To: ${to}\n\n${body}\n`);
    // The .json last and whole (renamed into place): once it is there, both files are complete.
    const json = JSON.stringify({ to, from, body, ...countSegments(body) }, null, 2);
    await writeFile(join(dir, `${name}.json.tmp`), json);
    await rename(join(dir, `${name}.json.tmp`), join(dir, `${name}.json`));
  }
}

@Module({ imports: [OutboundModule], providers: [SmsTransport], exports: [SmsTransport] })
export class SmsTransportModule {}
