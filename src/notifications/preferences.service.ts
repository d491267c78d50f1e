import { BadRequestException, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { NotificationBus } from './bus/notification-bus.js';
import type { DeliveryMethod, Preferences, PreferencesUpdate, QuietHours } from '../../client/wire.js';
import { CHANNELS, type Channel, perKey } from './notification.types.js';
import { canonicalLocale } from '../users/locale.js';
import { canonicalTimeZone } from './quiet-hours.js';

export type { Preferences, PreferencesUpdate } from '../../client/wire.js';

/** The columns a user's preferences live in (what the delivery worker reads too). */
export interface PreferencesRow {
  muted_channels: Channel[];
  push_off: Channel[];
  email_off: Channel[];
  quiet_start: string | null;
  quiet_end: string | null;
  quiet_tz: string | null;
}

const COLUMNS = `muted_channels, push_off, email_off, quiet_start, quiet_end, quiet_tz`;

/**
 * Per user: muted channels (not streamed, live or replayed, and not sent by
 * push or email, unless critical), which methods each channel may escalate
 * to, and quiet hours. A user without a row has the defaults: everything on.
 */
@Injectable()
export class PreferencesService {
  constructor(
    private readonly db: DataSource,
    private readonly bus: NotificationBus,
  ) {}

  async get(userId: string): Promise<Preferences> {
    const rows: PreferencesRow[] = await this.db.query(
      `SELECT ${COLUMNS} FROM notification_preferences WHERE user_id = $1`,
      [userId],
    );
    return { ...toPreferences(rows[0]), locale: await this.localeOf(userId) };
  }

  private async localeOf(userId: string): Promise<string> {
    const [u]: Array<{ locale: string }> = await this.db.query(`SELECT locale FROM users WHERE id = $1`, [userId]);
    return u?.locale ?? 'en';
  }

  async update(userId: string, changes: PreferencesUpdate): Promise<Preferences> {
    const q = changes.quietHours && checkQuietHours(changes.quietHours);
    let locale: string | null = null;
    if (changes.locale !== undefined) {
      locale = canonicalLocale(changes.locale);
      if (!locale)
        throw new BadRequestException('locale must be a BCP 47 language tag of a known language, e.g. de or fr-CA');
    }
    const off = (toggles: Partial<Record<Channel, boolean | undefined>>, value: boolean) =>
      CHANNELS.filter((c) => toggles[c] === value);
    const perMethod = (m: DeliveryMethod) =>
      Object.fromEntries(CHANNELS.map((c) => [c, changes.delivery?.[c]?.[m]])) as Partial<Record<Channel, boolean>>;
    const channels = changes.channels ?? {};
    // One statement: concurrent updates of different fields or channels do not lose each other.
    // email_changed_at records when each channel's email setting last changed (unsubscribe
    // links sent before that no longer apply).
    const [row]: PreferencesRow[] = await this.db.query(
      `INSERT INTO notification_preferences AS p (user_id, muted_channels, push_off, email_off,
                                                  quiet_start, quiet_end, quiet_tz, email_changed_at)
       VALUES ($1, $2::text[], $4::text[], $6::text[], $9, $10, $11,
               COALESCE((SELECT jsonb_object_agg(c, $12::bigint) FROM unnest($6::text[]) c), '{}'))
       ON CONFLICT (user_id) DO UPDATE SET
         email_changed_at = p.email_changed_at || COALESCE(
           (SELECT jsonb_object_agg(c, $12::bigint) FROM unnest($6::text[] || $7::text[]) c
             WHERE (c = ANY ($6::text[])) <> (c = ANY (p.email_off))), '{}'),
         muted_channels = ${merge('p.muted_channels', 2, 3)},
         push_off = ${merge('p.push_off', 4, 5)},
         email_off = ${merge('p.email_off', 6, 7)},
         quiet_start = CASE WHEN $8 THEN $9 ELSE p.quiet_start END,
         quiet_end = CASE WHEN $8 THEN $10 ELSE p.quiet_end END,
         quiet_tz = CASE WHEN $8 THEN $11 ELSE p.quiet_tz END,
         updated_at = now()
       RETURNING ${COLUMNS}`,
      [
        userId,
        off(channels, false),
        off(channels, true),
        off(perMethod('push'), false),
        off(perMethod('push'), true),
        off(perMethod('email'), false),
        off(perMethod('email'), true),
        q !== undefined,
        q?.start ?? null,
        q?.end ?? null,
        q?.timeZone ?? null,
        Date.now(),
      ],
    );
    if (changes.channels) await this.bus.send({ t: 'prefs', userId, muted: row.muted_channels });
    if (locale) await this.db.query(`UPDATE users SET locale = $2 WHERE id = $1`, [userId, locale]);
    return { ...toPreferences(row), locale: locale ?? (await this.localeOf(userId)) };
  }

  /**
   * One-click unsubscribe: email off for these channels, unless the user changed any of their
   * email settings after `issuedAt` (the link is spent, or they turned it back on since).
   * 'stale' then, unless the channels are off anyway (a repeated POST): nothing to do.
   */
  async unsubscribeEmail(userId: string, channels: Channel[], issuedAt: number): Promise<'off' | 'stale'> {
    const applied: unknown[] = await this.db.query(
      `INSERT INTO notification_preferences AS p (user_id, email_off, email_changed_at)
       VALUES ($1, $2::text[], (SELECT jsonb_object_agg(c, $4::bigint) FROM unnest($2::text[]) c))
       ON CONFLICT (user_id) DO UPDATE SET
         email_off = ARRAY(SELECT DISTINCT c FROM unnest(p.email_off || $2::text[]) c ORDER BY c),
         email_changed_at = p.email_changed_at || COALESCE(
           (SELECT jsonb_object_agg(c, $4::bigint) FROM unnest($2::text[]) c WHERE c <> ALL (p.email_off)), '{}'),
         updated_at = now()
       WHERE NOT EXISTS (SELECT 1 FROM unnest($2::text[]) c WHERE (p.email_changed_at ->> c)::bigint > $3::bigint)
       RETURNING 1`,
      [userId, channels, issuedAt, Date.now()],
    );
    if (applied.length > 0) return 'off';
    const [row]: Array<{ off: boolean }> = await this.db.query(
      `SELECT $2::text[] <@ email_off AS off FROM notification_preferences WHERE user_id = $1`,
      [userId, channels],
    );
    return row?.off ? 'off' : 'stale';
  }
}

/** `array ∪ $add − $remove`, sorted and without duplicates. */
function merge(column: string, add: number, remove: number): string {
  return `ARRAY(SELECT DISTINCT c FROM unnest(${column} || $${add}::text[]) c WHERE c <> ALL ($${remove}::text[]) ORDER BY c)`;
}

/** The quiet hours to store, their zone in its canonical spelling; 400 if they make no sense. */
function checkQuietHours(q: QuietHours): QuietHours {
  const timeZone = canonicalTimeZone(q.timeZone);
  if (!timeZone) throw new BadRequestException(`quietHours.timeZone is not a known IANA time zone`);
  if (q.start === q.end) throw new BadRequestException('quietHours.start and quietHours.end must differ');
  return { ...q, timeZone };
}

export function quietHoursOf(row: PreferencesRow | undefined): QuietHours | null {
  return row?.quiet_start && row.quiet_end && row.quiet_tz
    ? { start: row.quiet_start, end: row.quiet_end, timeZone: row.quiet_tz }
    : null;
}

export function toPreferences(row: PreferencesRow | undefined): Omit<Preferences, 'locale'> {
  const muted = row?.muted_channels ?? [];
  const pushOff = row?.push_off ?? [];
  const emailOff = row?.email_off ?? [];
  return {
    channels: perKey(CHANNELS, (c) => !muted.includes(c)),
    delivery: perKey(CHANNELS, (c) => ({ push: !pushOff.includes(c), email: !emailOff.includes(c) })),
    quietHours: quietHoursOf(row),
  };
}
