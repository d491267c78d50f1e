import { describe, expect, it } from '@jest/globals';
import { CanonicalTimeZones1796008300000 } from '../migrations/1796008300000-CanonicalTimeZones.js';
import { migrationDatabase } from './support/migration-db.js';

/** The migration that rewrites stored quiet-hours zones to their canonical names (issue 19, finding 6). */
const db = migrationDatabase();

describe('CanonicalTimeZones migration', () => {
  it('rewrites each spelling to its canonical zone and leaves unknown zones alone', async () => {
    const typed = ['europe/berlin', 'EUROPE/BERLIN', 'Europe/Berlin', 'US/Pacific', 'utc', 'Mars/Olympus_Mons'];
    const ids: string[] = [];
    for (const [i, zone] of typed.entries()) {
      const [{ id }] = await db.ds.query(
        `INSERT INTO users (email, password_hash) VALUES ($1, 'x') RETURNING id::text`,
        [`tz-${i}@example.com`],
      );
      await db.ds.query(
        `INSERT INTO notification_preferences (user_id, quiet_start, quiet_end, quiet_tz) VALUES ($1, '22:00', '07:00', $2)`,
        [id, zone],
      );
      ids.push(id);
    }
    const runner = db.ds.createQueryRunner();
    try {
      await new CanonicalTimeZones1796008300000().up(runner);
    } finally {
      await runner.release();
    }
    const rows: Array<{ quiet_tz: string }> = await db.ds.query(
      `SELECT quiet_tz FROM notification_preferences WHERE user_id = ANY ($1::bigint[]) ORDER BY user_id`,
      [ids],
    );
    expect(rows.map((r) => r.quiet_tz)).toStrictEqual([
      'Europe/Berlin',
      'Europe/Berlin',
      'Europe/Berlin',
      'America/Los_Angeles',
      'UTC',
      'Mars/Olympus_Mons',
    ]);
  });
});
