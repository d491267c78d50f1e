import type pg from 'pg';
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

/**
 * The notifications partitions `plan` reads sequentially that are more than one page: none should
 * be. A partition made ahead is empty or a page of rows at first, and for such a table a
 * sequential read is the planner's right choice; it sees the table's size grow and turns to the index.
 */
export async function seqScansOverOnePage(db: pg.Pool, plan: string): Promise<string[]> {
  const names = [...new Set([...plan.matchAll(/Seq Scan on (notifications\w*)/g)].map((m) => m[1]))];
  if (names.length === 0) return [];
  const { rows } = await db.query(
    `SELECT relname FROM pg_class WHERE relname = ANY ($1) AND pg_relation_size(oid) > current_setting('block_size')::int`,
    [names],
  );
  return rows.map((r: { relname: string }) => r.relname).sort();
}
