import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { Logger } from '@nestjs/common';
import nodemailer, { type Transporter } from 'nodemailer';
import { cached, formatDateTime, localesIn, translator } from '../../../common/i18n.js';
import type { DeliveryConfig } from '../../../config/env.js';
import type { NotificationAction, NotificationJson } from '../../../notifications/notification.types.js';
import { PermanentError, TransientError } from '../../port/delivery-method.js';

const texts = translator(localesIn(new URL('./locales/', import.meta.url)));

export interface Digest {
  to: string;
  notifications: NotificationJson[];
  /** Absolute one-click unsubscribe URL. */
  unsubscribeUrl: string;
  /** The recipient's (BCP 47): the digest's own words, its plurals and dates. */
  locale: string;
  /** IANA zone the dates are shown in (the user's quiet-hours zone); default UTC. */
  timeZone?: string;
}

/** A digest's fixed words per locale, looked up once: i18next's t() costs about 20 µs a call, three an email. */
const fixedWords = cached<{ openInbox: string; stop: string; unsubscribe: string }>();
const wordsOf = (locale: string) =>
  fixedWords(locale, () => {
    const t = texts(locale);
    return { openInbox: t('openInbox'), stop: t('stop'), unsubscribe: t('unsubscribe') };
  });

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The digest's subject: the one title, or "3 new notifications" in the locale, with its plural. */
export function subjectOf(notifications: NotificationJson[], locale: string): string {
  return notifications.length === 1
    ? notifications[0].title
    : texts(locale)('subject', { count: notifications.length });
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
  const transport = nodemailer.createTransport({
    url,
    pool: true,
    maxConnections: 10,
    maxMessages: 1000,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
    ...(opportunistic ? { tls: { rejectUnauthorized: false } } : {}),
  });
  transport.use('stream', (mail, done) => {
    mail.message.transform(() => new WholeMessage());
    done();
  });
  return transport;
}

/**
 * The message as one chunk: nodemailer streams it to the socket in about ten (headers, each
 * part's boundary, headers and body), each a write system call of its own. A digest is a few
 * kilobytes, so it is gathered first and goes in one write.
 */
class WholeMessage extends Transform {
  private readonly chunks: Buffer[] = [];

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.chunks.push(chunk);
    done();
  }

  override _flush(done: TransformCallback): void {
    done(null, Buffer.concat(this.chunks));
  }
}

/**
 * Email through SMTP_URL, or, without it, `.eml` files in DATA_DIR/outbox
 * (so `npm start` shows what would be sent with nothing else running).
 */
export class Mailer {
  private readonly transport: Transporter;
  private readonly logger = new Logger('Mailer');

  /** The Message-ID's domain: MAIL_FROM's, as nodemailer would choose it. */
  private readonly idDomain: string;

  constructor(private readonly config: DeliveryConfig) {
    this.idDomain = /@([^@>]+)>?$/.exec(config.mailFrom)?.[1] ?? 'localhost';
    this.transport = config.smtpUrl
      ? smtpTransport(config.smtpUrl)
      : nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  }

  /** Resolves once the server accepted the message (250), or the file is written. */
  async send(d: Digest): Promise<void> {
    const inbox = `${this.config.publicUrl}/`;
    const n = d.notifications;
    const w = wordsOf(d.locale);
    const when = (x: NotificationJson) => formatDateTime(new Date(x.createdAt), d.locale, d.timeZone);
    // An action's own url, or the inbox, which records the press (POST …/actions/:actionId).
    const actionUrl = (x: NotificationJson, a: NotificationAction) =>
      a.url ?? `${inbox}?notification=${encodeURIComponent(x.id)}&action=${encodeURIComponent(a.id)}`;
    const text = [
      ...n.map(
        (x) =>
          `${x.title}\n${when(x)}\n${x.body}\n${x.actions.map((a) => `${a.label}: ${actionUrl(x, a)}\n`).join('')}`,
      ),
      `${w.openInbox}: ${inbox}`,
      '',
      `${w.stop}: ${d.unsubscribeUrl}`,
    ].join('\n');
    const html = `<!doctype html><html lang="${escapeHtml(d.locale)}"><body>
${n
  .map(
    (x) =>
      `<h3>${escapeHtml(x.title)}</h3><p style="font-size:small;color:#555">${escapeHtml(when(x))}</p><p>${escapeHtml(x.body)}</p>` +
      x.actions
        .map(
          (a) =>
            `<a href="${escapeHtml(actionUrl(x, a))}" style="display:inline-block;padding:8px 16px;margin-right:8px;border-radius:4px;text-decoration:none;${a.style === 'primary' ? 'background:#1f5fbf;color:#fff' : 'border:1px solid #1f5fbf;color:#1f5fbf'}">${escapeHtml(a.label)}</a>`,
        )
        .join(''),
  )
  .join('\n')}
<p><a href="${escapeHtml(inbox)}">${escapeHtml(w.openInbox)}</a></p>
<p style="font-size:small"><a href="${escapeHtml(d.unsubscribeUrl)}">${escapeHtml(w.unsubscribe)}</a></p>
</body></html>`;
    let info: { message?: unknown; messageId?: string };
    try {
      info = (await this.transport.sendMail({
        // Random as nodemailer's own, but from randomUUID's cached entropy: nodemailer draws the
        // id and each part's boundary with a randomBytes call each, eight per email.
        messageId: `<${randomUUID()}@${this.idDomain}>`,
        baseBoundary: randomUUID().replace(/-/g, ''),
        from: this.config.mailFrom,
        to: d.to,
        subject: subjectOf(n, d.locale),
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
