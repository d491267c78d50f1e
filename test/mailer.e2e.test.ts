import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/env.js';
import { Mailer } from '../src/delivery/methods/email/mailer.js';
import { TransientError } from '../src/delivery/port/delivery-method.js';
import { TestSmtpServer } from './support/smtp.js';

/**
 * The mailer against a real SMTP server (the `smtp-server` package) set up in the ways real
 * relays are: the transport options it means to use must be the ones nodemailer applies.
 */
const digest = (to: string) => ({
  to,
  notifications: [
    {
      id: '1',
      channel: 'order' as const,
      type: 'order.shipped',
      severity: 'info' as const,
      title: 'Order #1001 shipped',
      body: 'It is on its way.',
      data: {},
      createdAt: new Date().toISOString(),
      readAt: null,
      seenAt: null,
      archivedAt: null,
      snoozedUntil: null,
      actions: [],
    },
  ],
  unsubscribeUrl: 'http://localhost:3000/unsubscribe?token=t',
  locale: 'en',
});

const open: Array<{ mailer: Mailer; server: TestSmtpServer }> = [];
async function mailerFor(options: { starttls?: boolean; auth?: boolean }, url = (s: TestSmtpServer) => s.url) {
  const server = new TestSmtpServer(options);
  await server.start();
  const config = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'mailer-')),
    SESSION_SECRET: 'test-secret-test-secret-test-secret-0123',
    SMTP_URL: url(server),
  });
  const mailer = new Mailer(config.delivery);
  open.push({ mailer, server });
  return { mailer, server };
}
afterEach(async () => {
  for (const { mailer, server } of open.splice(0)) {
    mailer.close();
    await server.close();
  }
});

describe('the mailer', () => {
  it('sends over one pooled connection, not one connection per message', async () => {
    const { mailer, server } = await mailerFor({});
    for (const to of ['a@example.com', 'b@example.com', 'c@example.com']) await mailer.send(digest(to));
    expect(server.received.map((m) => m.to)).toStrictEqual(['a@example.com', 'b@example.com', 'c@example.com']);
    expect(server.connections).toBe(1);
  });

  it('gives each message a Message-ID at MAIL_FROM’s domain and a multipart boundary of its own', async () => {
    const { mailer, server } = await mailerFor({});
    for (const to of ['a@example.com', 'b@example.com']) await mailer.send(digest(to));
    const [a, b] = server.received.map((m) => m.mail);
    expect(a.messageId).toMatch(/^<[0-9a-f-]{36}@localhost>$/);
    expect(b.messageId).not.toBe(a.messageId);
    const boundary = (m: typeof a) =>
      (m.headers.get('content-type') as { params: { boundary: string } }).params.boundary;
    expect(boundary(b)).not.toBe(boundary(a));
    // Gathered into one write, the message still arrives whole: both alternatives.
    expect(a.text).toContain('Order #1001 shipped');
    expect(a.html).toContain('<h3>Order #1001 shipped</h3>');
  });

  it('smtp:// without credentials: STARTTLS when offered, even with a certificate it cannot verify', async () => {
    // smtp-server's own certificate, as a relay with a self-signed one would present it.
    const { mailer, server } = await mailerFor({ starttls: true });
    await mailer.send(digest('tls@example.com'));
    expect(server.to('tls@example.com').length).toBe(1);
    expect(server.secure).toStrictEqual([true]);
  });

  it('smtp:// with credentials: never sends them over TLS it cannot verify', async () => {
    const { mailer, server } = await mailerFor(
      { starttls: true, auth: true },
      (s) => `smtp://user:secret@127.0.0.1:${s.port}`,
    );
    await expect(mailer.send(digest('auth@example.com'))).rejects.toBeInstanceOf(TransientError);
    expect(server.received).toStrictEqual([]);
  });
});
