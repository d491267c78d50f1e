import { afterAll, beforeAll } from '@jest/globals';
import pg from 'pg';
import { endPool, freshDatabase } from './app.js';
import { Instance, type InstanceOptions } from './cluster.js';

export type PairMemberOptions = Omit<InstanceOptions, 'databaseUrl'>;

/** What `instancePair` gives a describe block, set once its `beforeAll` has run. */
export interface InstancePair {
  a: Instance;
  b: Instance;
  /** A pool on their database, for the test's own rows. */
  db: pg.Pool;
}

/**
 * Two instances of the built service on one fresh database, started (each with its options)
 * before the block's tests; stopped, and the database dropped, after them.
 */
export function instancePair(
  options: () => Promise<[PairMemberOptions, PairMemberOptions]> | [PairMemberOptions, PairMemberOptions] = () => [
    { name: 'A' },
    { name: 'B' },
  ],
): InstancePair {
  const pair = {} as InstancePair;
  let database: Awaited<ReturnType<typeof freshDatabase>> | undefined;
  beforeAll(async () => {
    database = await freshDatabase();
    const databaseUrl = database.url;
    pair.db = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    const [a, b] = await options();
    [pair.a, pair.b] = await Promise.all([
      Instance.start({ ...a, databaseUrl }),
      Instance.start({ ...b, databaseUrl }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([pair.a?.stop(), pair.b?.stop()]);
    if (pair.db) await endPool(pair.db);
    await database?.drop();
  });
  return pair;
}
