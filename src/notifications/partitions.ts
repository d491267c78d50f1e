import { Inject, Injectable, Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource, type EntityManager } from 'typeorm';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/env.js';

/** A partition of `notifications`: ids from `from` (null: MINVALUE) up to, not including, `to`. */
export interface NotificationPartition {
  name: string;
  from: number | null;
  to: number;
}

/** Empty partitions kept above the newest id, so a publish never finds its id's range missing. */
export const PARTITIONS_AHEAD = 2;
const PARTITION_LOCK = 0x70617274; // "part"
const BATCH = 10_000;
const UNDEFINED_TABLE = '42P01';
const LOCK_NOT_AVAILABLE = '55P03';
/** Per lock; the nine or so DETACH needs stay well under PostgreSQL's 1 s deadlock_timeout. */
const LOCK_WAIT_MS = 50;
const LOCK_ATTEMPTS = 5;

interface ReferencingKey {
  table: string;
  column: string;
  /** pg_constraint.confdeltype: 'c' CASCADE, 'n' SET NULL, … */
  onDelete: string;
}

/**
 * The id-range partitions of `notifications` (docs/decisions.md, "Partitioned notifications"):
 * creates them ahead of the ids and drops whole expired ones, never a row of a notification.
 * The catalog is the only record of the bounds. Safe on several instances at once: each change
 * is made under one advisory lock, with a lock timeout so that it gives up (until the next run)
 * rather than keep others queued behind it.
 */
@Injectable()
export class NotificationPartitions {
  private readonly logger = new Logger('Partitions');

  constructor(
    private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Ascending by range. */
  async list(db: Pick<EntityManager, 'query'> = this.db): Promise<NotificationPartition[]> {
    const rows: Array<{ name: string; bound: string | null }> = await db.query(`
      SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = 'notifications'::regclass`);
    return rows
      .filter((r): r is { name: string; bound: string } => r.bound !== null) // NULL: dropped meanwhile
      .map(({ name, bound }) => {
        const m = /FROM \((MINVALUE|'(-?\d+)')\) TO \('(-?\d+)'\)/.exec(bound);
        if (!m) throw new Error(`notifications partition ${name} has an unexpected bound: ${bound}`);
        return { name, from: m[2] === undefined ? null : Number(m[2]), to: Number(m[3]) };
      })
      .sort((a, b) => a.to - b.to);
  }

  /**
   * Keeps PARTITIONS_AHEAD empty partitions above the last id drawn, NOTIFICATION_PARTITION_SIZE
   * ids each. CREATE TABLE … PARTITION OF would lock the parent against every reader; a table
   * attached after is locked only against other schema changes. Answers the names created.
   */
  async createAhead(): Promise<string[]> {
    return this.db.transaction(async (m) => {
      await m.query(`SET LOCAL lock_timeout = '5s'`);
      await m.query(`SELECT pg_advisory_xact_lock($1)`, [PARTITION_LOCK]);
      const [{ seq }]: Array<{ seq: string }> = await m.query(
        `SELECT pg_get_serial_sequence('notifications', 'id') AS seq`,
      );
      const [{ last }]: Array<{ last: string }> = await m.query(
        `SELECT (CASE WHEN is_called THEN last_value ELSE last_value - 1 END)::text AS last FROM ${seq}`,
      );
      const partitions = await this.list(m);
      if (partitions.length === 0) throw new Error('notifications has no partitions');
      // Past the last id drawn, should the ids ever have outrun the partitions.
      let end = Math.max(partitions[partitions.length - 1].to, Number(last) + 1);
      let ahead = partitions.filter((p) => p.from !== null && p.from > Number(last)).length;
      const created: string[] = [];
      for (; ahead < PARTITIONS_AHEAD; ahead++, end += this.config.partitionSize) {
        const name = `notifications_p${end}`;
        await m.query(`CREATE TABLE ${name} (LIKE notifications INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
        await m.query(
          `ALTER TABLE notifications ATTACH PARTITION ${name} FOR VALUES FROM (${end}) TO (${end + this.config.partitionSize})`,
        );
        created.push(name);
      }
      if (created.length) this.logger.log(`Created ${created.join(', ')}`);
      return created;
    });
  }

  /**
   * Drops, oldest first, each partition whose newest notification is older than `days`, and stops
   * at the first that is not (retention removes an id prefix, so `deleted_up_to` stays exact).
   * Never the partition of the newest id, nor one above it. Answers the names dropped.
   */
  async dropExpired(days: number): Promise<string[]> {
    const [{ newest }]: Array<{ newest: string | null }> = await this.db.query(
      `SELECT max(id)::text AS newest FROM notifications`,
    );
    if (newest === null) return [];
    const dropped: string[] = [];
    for (const p of await this.list()) {
      if (p.to > Number(newest)) break;
      const expired = await this.db
        .query(`SELECT coalesce(max(created_at) < now() - make_interval(days => $1), true) AS expired FROM ${p.name}`, [
          days,
        ])
        .then(
          (rows: Array<{ expired: boolean }>) => rows[0].expired,
          (err: { code?: string }) => {
            if (err.code === UNDEFINED_TABLE) return null; // another instance dropped it meanwhile
            throw err;
          },
        );
      if (expired === null) continue;
      if (!expired) break;
      if (await this.drop(p)) dropped.push(p.name);
    }
    return dropped;
  }

  /**
   * Answers false when another instance dropped it first. DETACH and DROP fire no ON DELETE: the
   * rows of other tables that reference the partition's ids go first (in batches, outside any
   * lock), then again under the locks DETACH needs, and the partition goes as a whole.
   */
  private async drop(p: NotificationPartition): Promise<boolean> {
    await this.db.query(`UPDATE notification_retention SET deleted_up_to = GREATEST(deleted_up_to, $1)`, [p.to - 1]);
    const keys = await this.referencingKeys();
    for (const key of keys) while ((await this.unreference(this.db, key, p)) === BATCH);
    for (let attempt = 1; ; attempt++) {
      try {
        const done = await this.detachAndDrop(p, keys);
        if (done) this.logger.log(`Dropped ${p.name} (ids below ${p.to})`);
        return done;
      } catch (err) {
        if ((err as { code?: string }).code !== LOCK_NOT_AVAILABLE || attempt === LOCK_ATTEMPTS) throw err;
        await sleep(100 + Math.random() * 400 * attempt);
      }
    }
  }

  /**
   * DETACH takes ACCESS EXCLUSIVE on the parent and on every referencing table, and SHARE ROW
   * EXCLUSIVE on the tables notifications references. Taken here all at once, each waited for
   * only briefly: a transaction holding one of them and waiting for another (a read receipt's
   * key check, say) makes us give up well before its deadlock check would abort it instead.
   */
  private async detachAndDrop(p: NotificationPartition, keys: ReferencingKey[]): Promise<boolean> {
    return this.db.transaction(async (m) => {
      await m.query(`SELECT pg_advisory_xact_lock($1)`, [PARTITION_LOCK]);
      await m.query(`SET LOCAL lock_timeout = '${LOCK_WAIT_MS}ms'`);
      // Read from pg_inherits, not to_regclass: the catalog cache may not have seen another's DROP yet.
      const [{ present }]: Array<{ present: boolean }> = await m.query(
        `SELECT EXISTS (SELECT FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                         WHERE i.inhparent = 'notifications'::regclass AND c.relname = $1) AS present`,
        [p.name],
      );
      if (!present) return false;
      const referencing = [...new Set(keys.map((k) => k.table))];
      await m.query(`LOCK TABLE ${['notifications', ...referencing].join(', ')} IN ACCESS EXCLUSIVE MODE`);
      const referenced: Array<{ table: string }> = await m.query(
        `SELECT DISTINCT confrelid::regclass::text AS table FROM pg_constraint
          WHERE conrelid = 'notifications'::regclass AND contype = 'f'`,
      );
      if (referenced.length) {
        await m.query(`LOCK TABLE ${referenced.map((r) => r.table).join(', ')} IN SHARE ROW EXCLUSIVE MODE`);
      }
      for (const key of keys) while ((await this.unreference(m, key, p)) === BATCH);
      await m.query(`ALTER TABLE notifications DETACH PARTITION ${p.name}`);
      await m.query(`DROP TABLE ${p.name}`);
      return true;
    });
  }

  /** The other tables' keys to notifications(id), with what their ON DELETE does. */
  private referencingKeys(): Promise<ReferencingKey[]> {
    return this.db.query(`
      SELECT c.conrelid::regclass::text AS table, quote_ident(a.attname) AS column, c.confdeltype AS "onDelete"
        FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
       WHERE c.contype = 'f' AND c.confrelid = 'notifications'::regclass AND c.conparentid = 0
       ORDER BY 1`);
  }

  /** What ON DELETE would have done to up to BATCH referencing rows of `p`'s ids: how many it did. */
  private async unreference(
    db: Pick<EntityManager, 'query'>,
    key: ReferencingKey,
    p: NotificationPartition,
  ): Promise<number> {
    const range = `${key.column} < ${p.to}${p.from === null ? '' : ` AND ${key.column} >= ${p.from}`}`;
    const some = `ctid = ANY (ARRAY(SELECT ctid FROM ${key.table} WHERE ${range} LIMIT ${BATCH}))`;
    // 'c': CASCADE, 'n': SET NULL; any other leaves the rows, and DETACH refuses as DELETE would.
    const sql =
      key.onDelete === 'c'
        ? `DELETE FROM ${key.table} WHERE ${some}`
        : key.onDelete === 'n'
          ? `UPDATE ${key.table} SET ${key.column} = NULL WHERE ${some}`
          : null;
    if (!sql) return 0;
    const [, count]: [unknown, number] = await db.query(sql);
    return count;
  }
}
