import { Inject, Injectable } from '@nestjs/common';
import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import { DomainError, invalid, notFound } from '../common/domain-error.js';
import { localesIn, translator } from '../common/i18n.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/env.js';
import { SmsError, SmsTransport } from '../delivery/methods/sms/sms-transport.js';
import { ChatDestinations } from '../delivery/methods/chat/chat-destinations.js';

export const CODE_TTL_MS = 10 * 60_000;
export const MAX_CODE_TRIES = 5;
export const MAX_CODES_PER_HOUR = 3;

const texts = translator(localesIn(new URL('./locales/', import.meta.url)));

export interface PhoneContact {
  number: string;
  verified: boolean;
}

/** A chat destination as users see it: its URL is a secret and never leaves the server. */
export interface ChatContact {
  id: string;
  kind: string;
  label: string;
  host: string;
}

export interface Contacts {
  phone: PhoneContact | null;
  chat: ChatContact[];
}

/**
 * A user's contacts: one phone (verified by a 6-digit code sent by SMS) and chat destinations
 * (./chat/). Codes are stored as an HMAC under the session secret, bound to the user and the
 * number, so a leaked table gives no code and a code fits no other phone.
 */
@Injectable()
export class ContactsService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly db: DataSource,
    private readonly sms: SmsTransport,
    private readonly chatDestinations: ChatDestinations,
  ) {}

  async of(userId: string): Promise<Contacts> {
    return { phone: await this.phone(userId), chat: await this.chat(userId) };
  }

  async chat(userId: string): Promise<ChatContact[]> {
    return this.chatDestinations.list(userId);
  }

  async phone(userId: string): Promise<PhoneContact | null> {
    const [row]: Array<{ number: string; verified: boolean }> = await this.db.query(
      `SELECT number, verified_at IS NOT NULL AS verified FROM user_phones WHERE user_id = $1`,
      [userId],
    );
    return row ?? null;
  }

  /** The number, if it is verified: the only kind SMS goes to. */
  async verifiedNumber(userId: string): Promise<string | null> {
    const [row]: Array<{ number: string }> = await this.db.query(
      `SELECT number FROM user_phones WHERE user_id = $1 AND verified_at IS NOT NULL`,
      [userId],
    );
    return row?.number ?? null;
  }

  /**
   * Sets the number (unverified) and texts it a new code. The count of codes sent in the past
   * hour is kept apart from the phone, so removing and setting it again does not reset it.
   */
  async setPhone(userId: string, number: string): Promise<PhoneContact> {
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    const locale = await this.db.transaction(async (m) => {
      // One request of this user at a time past here: the count below cannot be raced.
      const [user]: Array<{ locale: string }> = await m.query(
        `SELECT locale FROM users WHERE id = $1 FOR NO KEY UPDATE`,
        [userId],
      );
      await m.query(`DELETE FROM phone_codes_sent WHERE user_id = $1 AND sent_at <= now() - interval '1 hour'`, [
        userId,
      ]);
      const [{ n }]: Array<{ n: number }> = await m.query(
        `SELECT count(*)::int AS n FROM phone_codes_sent WHERE user_id = $1`,
        [userId],
      );
      if (n >= MAX_CODES_PER_HOUR) {
        throw new DomainError('TOO_MANY', `At most ${MAX_CODES_PER_HOUR} codes an hour: try again later`);
      }
      await m.query(`INSERT INTO phone_codes_sent (user_id) VALUES ($1)`, [userId]);
      await m.query(
        `INSERT INTO user_phones (user_id, number, verified_at, code_hash, code_expires_at, code_tries, updated_at)
         VALUES ($1, $2, NULL, $3, now() + $4 * interval '1 millisecond', 0, now())
         ON CONFLICT (user_id) DO UPDATE SET number = EXCLUDED.number, verified_at = NULL,
           code_hash = EXCLUDED.code_hash, code_expires_at = EXCLUDED.code_expires_at, code_tries = 0, updated_at = now()`,
        [userId, number, this.codeHash(userId, number, code), CODE_TTL_MS],
      );
      return user?.locale ?? 'en';
    });
    try {
      await this.sms.send({ to: number, body: texts(locale)('code', { code }) });
    } catch (err) {
      if (!(err instanceof SmsError)) throw err;
      if (err.transient) throw new DomainError('UNAVAILABLE', 'The code could not be sent just now: try again later');
      throw invalid('The SMS provider refused this number');
    }
    return { number, verified: false };
  }

  /** Checks a code: right, the number is verified; wrong, one of MAX_CODE_TRIES is used up. */
  async verify(userId: string, code: string): Promise<PhoneContact> {
    const outcome = await this.db.transaction(async (m) => this.check(m, userId, code));
    if (outcome === 'none') throw notFound('No phone number is set');
    if (outcome === 'void') throw invalid('No valid code: it expired or was tried too often; ask for a new one');
    if (outcome === 'wrong') throw invalid('Wrong code');
    return outcome;
  }

  private async check(
    m: EntityManager,
    userId: string,
    code: string,
  ): Promise<PhoneContact | 'none' | 'void' | 'wrong'> {
    const [row]: Array<{
      number: string;
      verified: boolean;
      code_hash: string | null;
      live: boolean;
      code_tries: number;
    }> = await m.query(
      `SELECT number, verified_at IS NOT NULL AS verified, code_hash, code_expires_at > now() AS live, code_tries
           FROM user_phones WHERE user_id = $1 FOR UPDATE`,
      [userId],
    );
    if (!row) return 'none';
    if (row.verified) return { number: row.number, verified: true };
    if (!row.code_hash || !row.live || row.code_tries >= MAX_CODE_TRIES) return 'void';
    if (!sameHash(row.code_hash, this.codeHash(userId, row.number, code))) {
      // The last wrong try voids the code outright.
      await m.query(
        `UPDATE user_phones SET code_tries = code_tries + 1,
           code_hash = CASE WHEN code_tries + 1 >= $2 THEN NULL ELSE code_hash END WHERE user_id = $1`,
        [userId, MAX_CODE_TRIES],
      );
      return 'wrong';
    }
    await m.query(
      `UPDATE user_phones SET verified_at = now(), code_hash = NULL, code_expires_at = NULL, code_tries = 0,
         updated_at = now() WHERE user_id = $1`,
      [userId],
    );
    return { number: row.number, verified: true };
  }

  async removePhone(userId: string): Promise<void> {
    await this.db.query(`DELETE FROM user_phones WHERE user_id = $1`, [userId]);
  }

  /** The users who verified this number (inbound SMS: a phone shared by two accounts speaks for both). */
  async usersOfNumber(number: string): Promise<string[]> {
    const rows: Array<{ user_id: string }> = await this.db.query(
      `SELECT user_id::text FROM user_phones WHERE number = $1 AND verified_at IS NOT NULL`,
      [number],
    );
    return rows.map((r) => r.user_id);
  }

  private codeHash(userId: string, number: string, code: string): string {
    return createHmac('sha256', this.config.sessionSecret)
      .update(`phone-code\0${userId}\0${number}\0${code}`)
      .digest('base64url');
  }
}

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
