import type { MigrationInterface, QueryRunner } from 'typeorm';
import { canonicalTimeZone } from '../src/notifications/quiet-hours.js';

export class CanonicalTimeZones1796008300000 implements MigrationInterface {
  name = 'CanonicalTimeZones1796008300000';

  async up(q: QueryRunner): Promise<void> {
    // Quiet-hours zones were stored as typed (`europe/berlin`); the API now stores the canonical
    // name (Intl's), and so do these rows. One UPDATE per distinct spelling, of which there are
    // few. A zone this runtime does not know stays as it is.
    const zones: Array<{ quiet_tz: string }> = await q.query(
      `SELECT DISTINCT quiet_tz FROM notification_preferences WHERE quiet_tz IS NOT NULL`,
    );
    for (const { quiet_tz } of zones) {
      const canonical = canonicalTimeZone(quiet_tz);
      if (canonical && canonical !== quiet_tz) {
        await q.query(`UPDATE notification_preferences SET quiet_tz = $2 WHERE quiet_tz = $1`, [quiet_tz, canonical]);
      }
    }
  }

  async down(): Promise<void> {
    // The spellings as typed are gone; the canonical names mean the same zones.
  }
}
