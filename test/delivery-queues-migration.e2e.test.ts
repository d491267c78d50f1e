import { describe, expect, it } from '@jest/globals';
import { migrationDatabase } from './support/migration-db.js';

/** The queue per delivery method (issue 19, finding 2) has the policy of the shared queue it replaces. */
const db = migrationDatabase();

describe('DeliveryQueuePerMethod migration', () => {
  it('creates deliver-push and deliver-email with the retries and expiry of deliver', async () => {
    const rows: Array<Record<string, unknown>> = await db.ds.query(
      `SELECT name, policy, retry_limit, retry_delay, retry_backoff, expire_seconds, retention_minutes
         FROM pgboss.queue WHERE name IN ('deliver', 'deliver-push', 'deliver-email') ORDER BY name`,
    );
    expect(rows.map((r) => r.name)).toStrictEqual(['deliver', 'deliver-email', 'deliver-push']);
    const policy = ({ name: _name, ...rest }: Record<string, unknown>) => rest;
    expect(policy(rows[1])).toStrictEqual(policy(rows[0]));
    expect(policy(rows[2])).toStrictEqual(policy(rows[0]));
    expect(policy(rows[0])).toMatchObject({ retry_limit: 10, expire_seconds: 60 });
  });
});
