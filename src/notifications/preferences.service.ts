import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { NotificationBus } from './bus/notification-bus.js';
import type { Preferences } from '../../client/wire.js';
import { CHANNELS, type Channel } from './notification.types.js';

export type { Preferences } from '../../client/wire.js';

/** Muted channels per user: not streamed (live or replayed) unless critical. */
@Injectable()
export class PreferencesService {
  constructor(
    private readonly db: DataSource,
    private readonly bus: NotificationBus,
  ) {}

  async get(userId: string): Promise<Preferences> {
    const rows: Array<{ muted_channels: Channel[] }> = await this.db.query(
      `SELECT muted_channels FROM notification_preferences WHERE user_id = $1`,
      [userId],
    );
    return toPreferences(rows[0]?.muted_channels ?? []);
  }

  async update(userId: string, changes: Partial<Record<Channel, boolean>>): Promise<Preferences> {
    const mute = CHANNELS.filter((c) => changes[c] === false);
    const unmute = CHANNELS.filter((c) => changes[c] === true);
    // One statement: concurrent updates of different channels do not lose each other.
    const [row]: Array<{ muted_channels: Channel[] }> = await this.db.query(
      `INSERT INTO notification_preferences AS p (user_id, muted_channels)
       VALUES ($1, $2::text[])
       ON CONFLICT (user_id) DO UPDATE SET
         muted_channels = ARRAY(SELECT DISTINCT c FROM unnest(p.muted_channels || $2::text[]) c
                                 WHERE c <> ALL ($3::text[]) ORDER BY c),
         updated_at = now()
       RETURNING muted_channels`,
      [userId, mute, unmute],
    );
    await this.bus.send({ t: 'prefs', userId, muted: row.muted_channels });
    return toPreferences(row.muted_channels);
  }
}

function toPreferences(muted: Channel[]): Preferences {
  return {
    channels: {
      order: !muted.includes('order'),
      payment: !muted.includes('payment'),
      system: !muted.includes('system'),
    },
  };
}
