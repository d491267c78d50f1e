import type { MigrationInterface, QueryRunner } from 'typeorm';

export class DeliveryPreferences1796007400000 implements MigrationInterface {
  name = 'DeliveryPreferences1796007400000';

  async up(q: QueryRunner): Promise<void> {
    // Like muted_channels, the methods are stored as what was switched off: a user
    // without a row (or a channel not listed) gets every method, the default.
    // Quiet hours are "HH:MM" in an IANA zone, all three or none; the zone is checked
    // by the API (Intl), the shape here.
    await q.query(`
      ALTER TABLE notification_preferences
        ADD COLUMN push_off   text[] NOT NULL DEFAULT '{}',
        ADD COLUMN email_off  text[] NOT NULL DEFAULT '{}',
        ADD COLUMN quiet_start text CHECK (quiet_start ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'),
        ADD COLUMN quiet_end   text CHECK (quiet_end ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'),
        ADD COLUMN quiet_tz    text,
        ADD CONSTRAINT notification_preferences_quiet_all_or_none
          CHECK ((quiet_start IS NULL) = (quiet_end IS NULL) AND (quiet_start IS NULL) = (quiet_tz IS NULL))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE notification_preferences
        DROP CONSTRAINT notification_preferences_quiet_all_or_none,
        DROP COLUMN quiet_tz,
        DROP COLUMN quiet_end,
        DROP COLUMN quiet_start,
        DROP COLUMN email_off,
        DROP COLUMN push_off`);
  }
}
