import { describe, expect, it } from '@jest/globals';
import { partitioningUnsupported } from '../migrations/1797600100000-PartitionedNotifications.js';

/* The conversion needs an identity column on a partitioned table: PostgreSQL 17. An older server gets one clear line, before anything is changed. */
describe('partitioned notifications: the server version', () => {
  it('refuses PostgreSQL 16 and older with a line naming the version found', () => {
    expect(partitioningUnsupported(160004)).toBe(
      "PostgreSQL 17 or later is needed for the partitioned notifications table (DATABASE_URL's server is 16); nothing was changed",
    );
    expect(partitioningUnsupported(150010)).toContain('server is 15');
  });

  it('accepts 17 and later', () => {
    expect(partitioningUnsupported(170000)).toBeNull();
    expect(partitioningUnsupported(180004)).toBeNull();
  });
});
