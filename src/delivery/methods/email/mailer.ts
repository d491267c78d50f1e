import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import nodemailer, { type Transporter } from 'nodemailer';
import type { DeliveryConfig } from '../../../config/env.js';
import type { NotificationJson } from '../../../notifications/notification.types.js';
import { PermanentError, TransientError } from '../../port/delivery-method.js';

export interface Digest {
  to: string;
  notifications: NotificationJson[];
  /** Absolute one-click unsubscribe URL. */
  unsubscribeUrl: string;
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The digest's subject: the one title, or "3 new notifications". */
export function subjectOf(notifications: NotificationJson[]): string {
  return notifications.length === 1 ? notifications[0].title : `${notifications.length} new notifications`;
}

/**
 * SMTP_URL's transport. The options go in one object with the URL: given as createTransport's
 * second argument they are message defaults, and the transport ran without a pool (a connection
 * per message) and with nodemailer's default timeouts (a silent server held a send 10 minutes).
 * Options in the URL's query (`?tls.rejectUnauthorized=true`, `?ignoreTLS=true`, …) win.
 *
 * TLS: `smtps://` is TLS from the start, its certificate verified. `smtp://` upgrades with
 * STARTTLS whenever the server offers it; without credentials in the URL the certificate is not
 * verified, as mail servers do between themselves (opportunistic TLS: no worse than the plain
 * text it replaces, and a relay with a self-signed certificate still gets mail); with credentials
 * it is, so they never travel over a connection that may be intercepted.
 */
function smtpTransport(url: string): Transporter {
  const { protocol, username } = new URL(url);
  const opportunistic = protocol === 'smtp:' && username === '';
  return nodemailer.createTransport({
    url,
    pool: true,
    maxConnections: 10,
    maxMessages: 1000,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
    ...(opportunistic ? { tls: { rejectUnauthorized: false } } : {}),
  });
}

/**
 * Email through SMTP_URL, or, without it, `.eml` files in DATA_DIR/outbox
 * (so `npm start` shows what would be sent with nothing else running).
 */
export class Mailer {
  private readonly transport: Transporter;
  private readonly logger = new Logger('Mailer');

  constructor(private readonly config: DeliveryConfig) {
    this.transport = config.smtpUrl
      ? smtpTransport(config.smtpUrl)
      : nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  }

  /** Resolves once the server accepted the message (250), or the file is written. */
  async send(d: Digest): Promise<void> {
    const inbox = `${this.config.publicUrl}/`;
    const n = d.notifications;
    const text = [
      ...n.map((x) => `${x.title}\n${x.body}\n`),
      `Open your inbox: ${inbox}`,
      '',
      `Stop these emails: ${d.unsubscribeUrl}`,
    ].join('\n');
    const html = `<!doctype html><html><body>
${n.map((x) => `<h3>${escapeHtml(x.title)}</h3><p>${escapeHtml(x.body)}</p>`).join('\n')}
<p><a href="${escapeHtml(inbox)}">Open your inbox</a></p>
<p style="font-size:small"><a href="${escapeHtml(d.unsubscribeUrl)}">Unsubscribe</a> from these emails.</p>
</body></html>`;
    let info: { message?: unknown; messageId?: string };
    try {
      info = (await this.transport.sendMail({
        from: this.config.mailFrom,
        to: d.to,
        subject: subjectOf(n),
        text,
        html,
        list: { unsubscribe: { url: d.unsubscribeUrl, comment: 'Unsubscribe' } },
        headers: {
          'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
          // Which notifications this message carries: support can match a complaint to the log.
          'X-Notification-Ids': n.map((x) => x.id).join(','),
        },
      })) as { message?: unknown; messageId?: string };
    } catch (err) {
      const e = err as { responseCode?: number; code?: string; message: string };
      // Users read the outcome in the delivery log: a category and the SMTP code, the server's
      // text and socket errors (host names, addresses) only in the debug log.
      this.logger.debug(`Sending to the mail server failed: ${e.code ?? ''} ${e.message}`);
      // 5xx is a refusal for good; 4xx and anything on the way (connection, timeout) may pass later.
      if (e.responseCode !== undefined && e.responseCode >= 500) {
        throw new PermanentError(`refused by the mail server (${e.responseCode})`);
      }
      if (e.responseCode) throw new TransientError(`mail server answered ${e.responseCode}`);
      throw new TransientError(
        /TIMEDOUT|timeout/i.test(`${e.code} ${e.message}`) ? 'timed out' : 'mail server unreachable',
      );
    }
    if (!this.config.smtpUrl) {
      mkdirSync(this.config.outboxDir, { recursive: true });
      const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${n[0].id}.eml`;
      writeFileSync(join(this.config.outboxDir, name), info.message as Buffer);
    }
  }

  close(): void {
    this.transport.close();
  }
}
