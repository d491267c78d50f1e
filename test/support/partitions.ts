import { NotificationPartitions } from '../../src/notifications/partitions.js';
import type { TestApp } from './app.js';

/** Moves the identity on, so that the next notification takes the id `next` (a partition boundary, say). */
export async function nextIdIs(t: TestApp, next: number): Promise<void> {
  await t.db.query(`SELECT setval(pg_get_serial_sequence('notifications', 'id'), $1)`, [next - 1]);
}

/** The first id of the lowest partition no id has been drawn from yet (made ahead if need be). */
export async function nextPartitionStart(t: TestApp): Promise<number> {
  const partitions = t.app.get(NotificationPartitions);
  await partitions.createAhead();
  const { rows } = await t.db.query(
    `SELECT last_value::text AS last FROM pg_sequences WHERE sequencename = 'notifications_id_seq'`,
  );
  const last = Number(rows[0].last ?? 0);
  return (await partitions.list()).find((p) => p.from !== null && p.from > last)!.from!;
}
