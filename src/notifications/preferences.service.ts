import { BadRequestException, Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { NotificationBus } from './bus/notification-bus.js';
import type { DeliveryMethod, Preferences, PreferencesUpdate, QuietHours } from '../../client/wire.js';
import { DELIVERY_METHOD_INFO } from '../../client/registry.js';
import { CHANNELS, type Channel, DELIVERY_METHODS, perKey } from './notification.types.js';
import { canonicalLocale } from '../users/locale.js';
import { canonicalTimeZone } from './quiet-hours.js';
import { StreamHub } from './stream-hub.js';

export type { Preferences, PreferencesUpdate } from '../../client/wire.js';

/** The columns a user's preferences live in (what the delivery worker reads too). */
export interface PreferencesRow {
  muted_channels: Channel[];
  quiet_start: string | null;
  quiet_end: string | null;
  quiet_tz: string | null;
}

const COLUMNS = `muted_channels, quiet_start, quiet_end, quiet_tz`;

/** What a user chose per method for one channel; a method they never chose is missing. */
export type Toggles = Partial<Record<DeliveryMethod, boolean>>;

/** SQL: the user's toggles for a channel (both SQL expressions), a jsonb `Toggles` or NULL. */
export const togglesSql = (userId: string, channel: string) =>
  `(SELECT jsonb_object_agg(t.method, t.enabled) FROM delivery_toggles t
     WHERE t.user_id = ${userId} AND t.channel = ${channel})`;

/** SQL: whether `method` goes out for the user's `channel` (all SQL expressions; `byDefault` a boolean). */
export const methodEnabledSql = (userId: string, channel: string, method: string, byDefault: string) =>
  `COALESCE((SELECT t.enabled FROM delivery_toggles t
              WHERE t.user_id = ${userId} AND t.channel = ${channel} AND t.method = ${method}), ${byDefault})`;

export const methodEnabled = (toggles: Toggles | null | undefined, method: DeliveryMethod): boolean =>
  toggles?.[method] ?? DELIVERY_METHOD_INFO[method].enabledByDefault;

/**
 * Asked before methods are switched on: per method the user may not switch on, why
 * ("needs a verified phone number"). Delivery registers one; the core knows no contacts.
 */
export type EnableCheck = (userId: string, methods: DeliveryMethod[]) => Promise<Map<DeliveryMethod, string>>;

/**
 * Per user: muted channels (not streamed, live or replayed, and not sent by any
 * method, unless critical), which methods each channel may escalate to (a
 * `delivery_toggles` row per choice; none: the method's default), and quiet hours.
 */
@Injectable()
export class PreferencesService {
  private readonly enableChecks = new Set<EnableCheck>();

  constructor(
    private readonly db: DataSource,
    private readonly bus: NotificationBus,
    private readonly hub: StreamHub,
  ) {}

  /** Returns the unregister. */
  onEnable(check: EnableCheck): () => void {
    this.enableChecks.add(check);
    return () => this.enableChecks.delete(check);
  }

  async get(userId: string): Promise<Preferences> {
    const [rows, toggles, locale] = await Promise.all([
      this.db.query(`SELECT ${COLUMNS} FROM notification_preferences WHERE user_id = $1`, [userId]) as Promise<
        PreferencesRow[]
      >,
      this.toggles(this.db.manager, userId),
      this.localeOf(userId),
    ]);
    return { ...toPreferences(rows[0], toggles), locale };
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
    const chosen = CHANNELS.flatMap((channel) =>
      DELIVERY_METHODS.flatMap((method) => {
        const enabled = changes.delivery?.[channel]?.[method];
        return enabled === undefined ? [] : [{ channel, method, enabled }];
      }),
    );
    await this.checkEnable(
      userId,
      chosen.filter((t) => t.enabled),
    );
    const channels = changes.channels ?? {};
    const now = Date.now();
    const { row, toggles } = await this.db.transaction(async (m) => {
      // One statement per table: concurrent updates of different fields or channels do not lose each other.
      const [row]: PreferencesRow[] = await m.query(
        `INSERT INTO notification_preferences AS p (user_id, muted_channels, quiet_start, quiet_end, quiet_tz)
         VALUES ($1, $2::text[], $5, $6, $7)
         ON CONFLICT (user_id) DO UPDATE SET
           muted_channels = ${merge('p.muted_channels', 2, 3)},
           quiet_start = CASE WHEN $4 THEN $5 ELSE p.quiet_start END,
           quiet_end = CASE WHEN $4 THEN $6 ELSE p.quiet_end END,
           quiet_tz = CASE WHEN $4 THEN $7 ELSE p.quiet_tz END,
           updated_at = now()
         RETURNING ${COLUMNS}`,
        [
          userId,
          off(channels, false),
          off(channels, true),
          q !== undefined,
          q?.start ?? null,
          q?.end ?? null,
          q?.timeZone ?? null,
        ],
      );
      if (chosen.length > 0) {
        // changed_at: when a toggle last changed value (unsubscribe links sent before that no longer apply).
        await m.query(
          `INSERT INTO delivery_toggles AS t (user_id, channel, method, enabled, changed_at)
           SELECT $1, x.c, x.m, x.e, CASE WHEN x.e <> x.d THEN $6::bigint END
             FROM unnest($2::text[], $3::text[], $4::bool[], $5::bool[]) AS x (c, m, e, d)
           ON CONFLICT (user_id, channel, method) DO UPDATE SET
             enabled = EXCLUDED.enabled,
             changed_at = CASE WHEN t.enabled <> EXCLUDED.enabled THEN $6::bigint ELSE t.changed_at END`,
          [
            userId,
            chosen.map((t) => t.channel),
            chosen.map((t) => t.method),
            chosen.map((t) => t.enabled),
            chosen.map((t) => DELIVERY_METHOD_INFO[t.method].enabledByDefault),
            now,
          ],
        );
      }
      if (locale) await m.query(`UPDATE users SET locale = $2 WHERE id = $1`, [userId, locale]);
      return { row, toggles: await this.toggles(m, userId) };
    });
    // Here at once (a broadcast committed next is dispatched here without the bus), elsewhere by the bus.
    if (locale) this.hub.setLocale(userId, locale);
    if (changes.channels || locale) {
      await this.bus.send({ t: 'prefs', userId, muted: row.muted_channels, ...(locale ? { locale } : {}) });
    }
    return { ...toPreferences(row, toggles), locale: locale ?? (await this.localeOf(userId)) };
  }

  /**
   * One-click unsubscribe: `method` off for these channels, unless the user changed any of their
   * settings of it after `issuedAt` (the link is spent, or they turned it back on since).
   * 'stale' then, unless the channels are off anyway (a repeated POST): nothing to do.
   */
  async unsubscribe(
    userId: string,
    method: DeliveryMethod,
    channels: Channel[],
    issuedAt: number,
  ): Promise<'off' | 'stale'> {
    const byDefault = DELIVERY_METHOD_INFO[method].enabledByDefault;
    const applied: unknown[] = await this.db.query(
      `INSERT INTO delivery_toggles AS t (user_id, channel, method, enabled, changed_at)
       SELECT $1, c, $2, false, CASE WHEN $5::bool THEN $4::bigint END FROM unnest($3::text[]) c
        WHERE NOT EXISTS (SELECT 1 FROM delivery_toggles s
                           WHERE s.user_id = $1 AND s.method = $2 AND s.channel = ANY ($3::text[])
                             AND s.changed_at > $6::bigint)
       ON CONFLICT (user_id, channel, method) DO UPDATE SET
         enabled = false,
         changed_at = CASE WHEN t.enabled THEN EXCLUDED.changed_at ELSE t.changed_at END
       RETURNING 1`,
      [userId, method, channels, Date.now(), byDefault, issuedAt],
    );
    if (applied.length > 0) return 'off';
    const [row]: Array<{ n: number }> = await this.db.query(
      `SELECT count(*)::int AS n FROM unnest($3::text[]) c
        WHERE ${methodEnabledSql('$1', 'c', '$2', '$4::bool')}`,
      [userId, method, channels, byDefault],
    );
    return row.n === 0 ? 'off' : 'stale';
  }

  private async toggles(m: EntityManager, userId: string): Promise<Array<Toggle>> {
    return m.query(`SELECT channel, method, enabled FROM delivery_toggles WHERE user_id = $1`, [userId]);
  }

  /** Only a switch from off to on is checked: a page that saves every toggle as it shows them still saves. */
  private async checkEnable(userId: string, wanted: Toggle[]): Promise<void> {
    if (wanted.length === 0 || this.enableChecks.size === 0) return;
    const current = await this.toggles(this.db.manager, userId);
    const isOn = (t: Toggle) =>
      current.find((c) => c.channel === t.channel && c.method === t.method)?.enabled ??
      DELIVERY_METHOD_INFO[t.method].enabledByDefault;
    const on = wanted.filter((t) => !isOn(t));
    if (on.length === 0) return;
    const methods = [...new Set(on.map((t) => t.method))];
    for (const check of this.enableChecks) {
      const refused = await check(userId, methods);
      const first = on.find((t) => refused.has(t.method));
      if (first) {
        throw new BadRequestException(`delivery.${first.channel}.${first.method}: ${refused.get(first.method)}`);
      }
    }
  }
}

interface Toggle {
  channel: Channel;
  method: DeliveryMethod;
  enabled: boolean;
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

export function toPreferences(
  row: PreferencesRow | undefined,
  toggles: readonly Toggle[],
): Omit<Preferences, 'locale'> {
  const muted = row?.muted_channels ?? [];
  const chosen = new Map(toggles.map((t) => [`${t.channel}:${t.method}`, t.enabled]));
  return {
    channels: perKey(CHANNELS, (c) => !muted.includes(c)),
    delivery: perKey(CHANNELS, (c) =>
      perKey(DELIVERY_METHODS, (m) => chosen.get(`${c}:${m}`) ?? DELIVERY_METHOD_INFO[m].enabledByDefault),
    ),
    quietHours: quietHoursOf(row),
  };
}
