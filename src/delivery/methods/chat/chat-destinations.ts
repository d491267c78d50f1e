import { BadRequestException, Inject, Injectable } from '@nestjs/common';
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../../../config/config.module.js';
import type { AppConfig } from '../../../config/env.js';
import { Outbound } from '../../../outbound/outbound.module.js';
import { OutboundError } from '../../../outbound/outbound-error.js';
import type { Target } from '../../../outbound/target.js';
import { type ChatKind, chatMessage, chatTexts } from './chat-formats.js';
import { chatTarget } from './chat-target.js';
import { postChat } from './chat-webhook.js';

/** Chat destinations per user: each notification run posts to every one of them. */
export const MAX_CHAT_DESTINATIONS = 5;

/** A destination as the API shows it: its URL is a secret and never leaves the server. */
export interface ChatDestinationJson {
  id: string;
  kind: ChatKind;
  label: string;
  host: string;
}

/** A destination as the sender needs it: its target, or why it has none. */
export interface ChatDestinationToSend {
  id: string;
  kind: ChatKind;
  /** Nothing goes to it before this (a 429's Retry-After). */
  pausedUntil: Date | null;
  target: Target | OutboundError;
}

const LABELS: Record<ChatKind, string> = { slack: 'Slack', discord: 'Discord', teams: 'Microsoft Teams' };
const COLUMNS = `id::text, kind, label, host`;

/**
 * The users' chat destinations. A webhook URL is a bearer secret (whoever has it posts to the
 * channel), so it is stored sealed (AES-256-GCM, a key derived from SESSION_SECRET, bound to its
 * row's user), read only by the sender, and never put in an answer, an error or a log line; a
 * keyed digest of it finds a second add of the same URL.
 */
@Injectable()
export class ChatDestinations {
  private readonly sealKey: Buffer;
  private readonly digestKey: Buffer;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly db: DataSource,
    private readonly outbound: Outbound,
  ) {
    const derive = (info: string) => Buffer.from(hkdfSync('sha256', config.sessionSecret, '', info, 32));
    this.sealKey = derive('chat-destination-url');
    this.digestKey = derive('chat-destination-url-digest');
  }

  async list(userId: string): Promise<ChatDestinationJson[]> {
    return this.db.query(`SELECT ${COLUMNS} FROM chat_destinations WHERE user_id = $1 ORDER BY id`, [userId]);
  }

  async has(userId: string): Promise<boolean> {
    const rows: unknown[] = await this.db.query(`SELECT 1 FROM chat_destinations WHERE user_id = $1 LIMIT 1`, [userId]);
    return rows.length > 0;
  }

  /** Checks the URL, posts a test message to it, and stores it only once it took the message (2xx). */
  async add(userId: string, kind: ChatKind, url: string, label?: string): Promise<ChatDestinationJson> {
    let target: Target;
    try {
      target = chatTarget(kind, url, this.config.delivery.chatAllowlist);
    } catch (err) {
      if (!(err instanceof OutboundError)) throw err;
      throw new BadRequestException(`url is not a ${kind} webhook this server may call: ${err.detail}`);
    }
    const digest = createHmac('sha256', this.digestKey).update(`${userId}\n${target.href}`).digest();
    await this.checkRoom(this.db, userId, digest);

    const [user]: Array<{ locale: string }> = await this.db.query(`SELECT locale FROM users WHERE id = $1`, [userId]);
    const locale = user?.locale ?? 'en';
    const t = chatTexts(locale);
    const answer = await postChat(
      this.outbound,
      target,
      chatMessage(kind, {
        heading: t('connected'),
        items: [
          {
            title: t('connectedTitle'),
            body: t('connectedBody', {
              service: LABELS[kind],
              host: new URL(this.config.delivery.publicUrl).host,
            }),
          },
        ],
        inboxUrl: `${this.config.delivery.publicUrl}/`,
        locale,
      }),
    );
    if (answer.outcome !== 'sent') {
      throw new BadRequestException(`the destination did not accept the test message: ${answer.error}`);
    }

    return this.db.transaction(async (m) => {
      // One add at a time per user, so two at once cannot both take the last place.
      await m.query(`SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, [userId]);
      await this.checkRoom(m, userId, digest);
      const [row]: ChatDestinationJson[] = await m.query(
        `INSERT INTO chat_destinations (user_id, kind, label, host, url_sealed, url_digest)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
        [userId, kind, label?.trim() || LABELS[kind], target.hostname, this.seal(userId, target.href), digest],
      );
      return row;
    });
  }

  /** False if there is no such destination of this user. */
  async remove(userId: string, id: string): Promise<boolean> {
    const [, count]: [unknown, number] = await this.db.query(
      `DELETE FROM chat_destinations WHERE id = $1 AND user_id = $2`,
      [id, userId],
    );
    return count > 0;
  }

  /** The user's destinations with their targets, checked again now: the allow-list may have changed. */
  async toSend(userId: string): Promise<ChatDestinationToSend[]> {
    const rows: Array<{ id: string; kind: ChatKind; paused_until: Date | null; url_sealed: Buffer }> =
      await this.db.query(
        `SELECT id::text, kind, paused_until, url_sealed FROM chat_destinations WHERE user_id = $1 ORDER BY id`,
        [userId],
      );
    return rows.map((r) => {
      let target: Target | OutboundError;
      try {
        target = chatTarget(r.kind, this.unseal(userId, r.url_sealed), this.config.delivery.chatAllowlist);
      } catch (err) {
        target = err instanceof OutboundError ? err : new OutboundError('refused: not an allowed URL', 'unreadable');
      }
      return { id: r.id, kind: r.kind, pausedUntil: r.paused_until, target };
    });
  }

  async pause(id: string, until: Date): Promise<void> {
    await this.db.query(`UPDATE chat_destinations SET paused_until = $2 WHERE id = $1`, [id, until]);
  }

  async drop(id: string): Promise<void> {
    await this.db.query(`DELETE FROM chat_destinations WHERE id = $1`, [id]);
  }

  private async checkRoom(db: Pick<DataSource, 'query'>, userId: string, digest: Buffer): Promise<void> {
    const [state] = (await db.query(
      `SELECT count(*)::int AS n, bool_or(url_digest = $2) AS again FROM chat_destinations WHERE user_id = $1`,
      [userId, digest],
    )) as Array<{ n: number; again: boolean | null }>;
    if (state.again) throw new BadRequestException('this URL is one of your chat destinations already');
    if (state.n >= MAX_CHAT_DESTINATIONS) {
      throw new BadRequestException(`at most ${MAX_CHAT_DESTINATIONS} chat destinations per user: remove one first`);
    }
  }

  /** iv (12 bytes) | tag (16) | ciphertext; the user id is authenticated with it. */
  private seal(userId: string, url: string): Buffer {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.sealKey, iv).setAAD(Buffer.from(userId));
    const sealed = Buffer.concat([cipher.update(url, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), sealed]);
  }

  /** Throws if the row was sealed with another SESSION_SECRET or for another user. */
  private unseal(userId: string, sealed: Buffer): string {
    const decipher = createDecipheriv('aes-256-gcm', this.sealKey, sealed.subarray(0, 12))
      .setAAD(Buffer.from(userId))
      .setAuthTag(sealed.subarray(12, 28));
    return Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]).toString('utf8');
  }
}
