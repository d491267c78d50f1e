import { describe, expect, it } from '@jest/globals';
import { DropLegacyEscalateQueue1796007800000 } from '../migrations/1796007800000-DropLegacyEscalateQueue.js';
import { migrationDatabase } from './support/migration-db.js';

/** The migration that drops the "escalate" queue versions before the escalation cursor wrote to. */
const db = migrationDatabase();
const migration = new DropLegacyEscalateQueue1796007800000();

const queueExists = async (): Promise<boolean> =>
  (await db.ds.query(`SELECT count(*)::int AS n FROM pgboss.queue WHERE name = 'escalate'`))[0].n === 1;

describe('DropLegacyEscalateQueue migration', () => {
  it('refuses while jobs wait in the queue, drops it once they are done, and down() brings it back', async () => {
    const runner = db.ds.createQueryRunner();
    const inTransaction = async (step: () => Promise<void>) => {
      await runner.startTransaction();
      try {
        await step();
        await runner.commitTransaction();
      } catch (err) {
        await runner.rollbackTransaction();
        throw err;
      }
    };
    try {
      await inTransaction(() => migration.down(runner)); // the schema as it was
      expect(await queueExists()).toBe(true);
      const [{ id }] = await db.ds.query(
        `INSERT INTO pgboss.job (name, data, state) VALUES ('escalate', '{"ids":["1"]}', 'retry') RETURNING id`,
      );

      await expect(inTransaction(() => migration.up(runner))).rejects.toThrow(
        '1 jobs still wait in the pg-boss queue "escalate"',
      );
      expect(await queueExists()).toBe(true);

      await db.ds.query(`UPDATE pgboss.job SET state = 'completed' WHERE id = $1`, [id]);
      await inTransaction(() => migration.up(runner));
      expect(await queueExists()).toBe(false);
      expect((await db.ds.query(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'escalate'`))[0].n).toBe(0);
    } finally {
      await runner.release();
    }
  });
});
