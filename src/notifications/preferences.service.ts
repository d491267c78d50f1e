import { BadRequestException, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { NotificationBus } from './bus/notification-bus.js';
import type { DeliveryMethod, Preferences, PreferencesUpdate, QuietHours } from '../../client/wire.js';
import { CHANNELS, type Channel, perKey } from './notification.types.js';
import { isTimeZone } from './quiet-hours.js';

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
    return toPreferences(rows[0]);
  }

  async update(userId: string, changes: PreferencesUpdate): Promise<Preferences> {
    const q = changes.quietHours;
    if (q) checkQuietHours(q);
    const off = (toggles: Partial<Record<Channel, boolean | undefined>>, value: boolean) =>
      CHANNELS.filter((c) => toggles[c] === value);
    const perMethod = (m: DeliveryMethod) =>
      Object.fromEntries(CHANNELS.map((c) => [c, changes.delivery?.[c]?.[m]])) as Partial<Record<Channel, boolean>>;
    const channels = changes.channels ?? {};
    // One statement: concurrent updates of different fields or channels do not lose each other.
    const [row]: PreferencesRow[] = await this.db.query(
      `INSERT INTO notification_preferences AS p (user_id, muted_channels, push_off, email_off,
                                                  quiet_start, quiet_end, quiet_tz)
       VALUES ($1, $2::text[], $4::text[], $6::text[], $9, $10, $11)
       ON CONFLICT (user_id) DO UPDATE SET
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
      ],
    );
    if (changes.channels) await this.bus.send({ t: 'prefs', userId, muted: row.muted_channels });
    return toPreferences(row);
  }
}

/** `array ∪ $add − $remove`, sorted and without duplicates. */
function merge(column: string, add: number, remove: number): string {
  return `ARRAY(SELECT DISTINCT c FROM unnest(${column} || $${add}::text[]) c WHERE c <> ALL ($${remove}::text[]) ORDER BY c)`;
}

function checkQuietHours(q: QuietHours): void {
  if (!isTimeZone(q.timeZone)) throw new BadRequestException(`quietHours.timeZone is not a known IANA time zone`);
  if (q.start === q.end) throw new BadRequestException('quietHours.start and quietHours.end must differ');
}

export function quietHoursOf(row: PreferencesRow | undefined): QuietHours | null {
  return row?.quiet_start && row.quiet_end && row.quiet_tz
    ? { start: row.quiet_start, end: row.quiet_end, timeZone: row.quiet_tz }
    : null;
}

export function toPreferences(row: PreferencesRow | undefined): Preferences {
  const muted = row?.muted_channels ?? [];
  const pushOff = row?.push_off ?? [];
  const emailOff = row?.email_off ?? [];
  return {
    channels: perKey(CHANNELS, (c) => !muted.includes(c)),
    delivery: perKey(CHANNELS, (c) => ({ push: !pushOff.includes(c), email: !emailOff.includes(c) })),
    quietHours: quietHoursOf(row),
  };
}
