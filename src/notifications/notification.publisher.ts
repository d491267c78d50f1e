import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { countBy } from '../common/group-by.js';
import { Tx } from '../database/transaction.js';
import { type Activity, NotificationActivity } from './activity.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { committedMessagesSql } from './bus/committed-message.js';
import { NotificationBus } from './bus/notification-bus.js';
import { BusRouter } from './bus-router.js';
import type { BroadcastDraft, NotificationRow, PersonalDraft } from './notification.types.js';

/**
 * Key of the transaction-scoped advisory lock that orders ids. Postgres hands
 * out sequence values at insert but makes them visible at commit, so two
 * concurrent writers can commit 42 before 41: a reader that already went past
 * 42 would then never see 41. Every insert into `notifications` takes this lock
 * first and holds it until its transaction ends, so ids are allocated and
 * committed in the same order, on every instance. Callers publish last in their
 * transaction, so the lock is held only for the insert and the commit.
 */
export const ID_ORDER_LOCK = 0x6e6f7469; // "noti"

/**
 * Group commit: concurrent `send` calls share one statement (insertAlone). One batch is
 * in flight at a time; what arrives while it commits waits for it and goes
 * out together right after (up to BATCH_MAX rows), so the batch grows with
 * the load instead of the number of transactions: every transaction takes
 * the id lock, so parallel small batches would only queue on it, one fsync
 * each. An idle publisher waits at most BATCH_WAIT_MS for company. A batch's
 * rows reach the streams while the next batch's statement runs.
 */
const BATCH_MAX = 500;
const BATCH_WAIT_MS = 2;

/** In a draft published with publishAlong: where the id of the row written along goes (a private-use character). */
export const ALONG_ID = '\uE000';

const RETURNING = `RETURNING id, user_id, channel, type, severity, title, body, data, audience_kind, audience_role,
  audience_user_ids, created_at, expires_at, deliver, actions, translations`;
/** The "committed" messages for the bus to publish after the commit, on the first row only (null with a Postgres bus). */
const BUS_COLUMN = `CASE WHEN ins.id = announced.lo THEN announced.messages END AS bus`;

/** A row as an insert statement answers it: the first one carries the bus's messages. */
type Inserted = NotificationRow & { bus: string[] | null };

interface Pending {
  draft: PersonalDraft;
  resolve: (row: NotificationRow) => void;
  reject: (err: unknown) => void;
}

@Injectable()
export class NotificationPublisher {
  private readonly logger = new Logger('NotificationPublisher');
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | null = null;
  private inFlight = false;

  constructor(
    private readonly db: DataSource,
    private readonly bus: NotificationBus,
    private readonly router: BusRouter,
    private readonly metrics: MetricsService,
    private readonly activity: NotificationActivity,
  ) {}

  /**
   * Store notifications inside the caller's transaction: they exist if and only
   * if it commits. Call it last in the transaction (it takes the id lock).
   */
  async publish(tx: Tx, drafts: PersonalDraft[]): Promise<NotificationRow[]> {
    if (drafts.length === 0) return [];
    const statement = this.insertStatement(drafts, 0);
    const rows: Inserted[] = await tx.manager.query(`WITH ${statement.ctes} ${statement.select}`, statement.params);
    return this.published(tx, rows);
  }

  /**
   * Domain writes and their notifications in one statement, outside any
   * explicit transaction: a statement is atomic by itself, so all of it exists
   * or none does, for one round trip instead of four (BEGIN, the write, the
   * notifications, COMMIT) and one commit (one WAL flush under the id lock)
   * for the whole batch. `write.ctes` are CTEs (without WITH) over parameters
   * $1…$n, the last one named `domain`, yielding one row per written entity
   * with its `id` and its 1-based `ord`; each draft names the `ord` of its row
   * as `along`, and ALONG_ID in its title, body or data stands for that row's
   * id. Answers the domain rows in `ord` order, as JSON (timestamps as strings).
   */
  async publishAlong<T>(
    write: { ctes: string; params: unknown[] },
    drafts: Array<PersonalDraft & { along: number }>,
  ): Promise<{ along: T[]; rows: NotificationRow[] }> {
    if (drafts.length === 0) throw new Error('publishAlong needs at least one notification');
    const statement = this.insertStatement(
      drafts,
      write.params.length,
      drafts.map((d) => d.along),
    );
    const result: Array<Inserted & { along: T[] }> = await this.db.query(
      `WITH ${write.ctes}, ${statement.ctes} ${statement.select}`,
      [...write.params, ...statement.params],
    );
    if (result.length === 0) throw new Error('publishAlong: the domain write yielded no row');
    const along = result[0].along;
    const rows = this.publishedAlone(result.map(({ along: _, ...row }) => row));
    return { along, rows };
  }

  /** `published` for rows of a statement that committed by itself: its after-commit work runs at once. */
  private publishedAlone(rows: Inserted[]): NotificationRow[] {
    const tx = new Tx(this.db.manager);
    const published = this.published(tx, rows);
    tx.runAfterCommit();
    return published;
  }

  /**
   * The notifications insert as CTEs `id_lock`, `ins` and the announcement
   * (committedMessagesSql) over parameters from $(first + 1), and the SELECT
   * answering the rows. The id lock is taken before the first row (and so its
   * first id) exists, and with a Postgres bus the same statement announces the
   * rows (NOTIFY is delivered on commit): one round trip in all. With `along`
   * (the `ord` of each draft's domain row), every draft joins its row of the
   * `domain` CTE, whose id replaces ALONG_ID, and the answer carries the
   * domain rows.
   */
  private insertStatement(
    drafts: PersonalDraft[],
    first: number,
    along?: number[],
  ): { ctes: string; select: string; params: unknown[] } {
    const $ = (i: number) => `$${first + i}`;
    const text = (column: string) => (along ? `replace(${column}, ${$(12)}, domain.id::text)` : column);
    const params: unknown[] = [
      drafts.map((d) => d.userId),
      drafts.map((d) => d.channel),
      drafts.map((d) => d.type),
      drafts.map((d) => d.severity),
      drafts.map((d) => d.title),
      drafts.map((d) => d.body),
      drafts.map((d) => JSON.stringify(d.data)),
      ...this.announceParams(),
    ];
    if (along) params.push(ALONG_ID, along);
    params.push(drafts.map((d) => (d.actions?.length ? JSON.stringify(d.actions) : null)));
    const actions = $(params.length);
    const columns = `${$(1)}::bigint[], ${$(2)}::text[], ${$(3)}::text[], ${$(4)}::text[], ${$(5)}::text[],
                        ${$(6)}::text[], ${$(7)}::text[], ${actions}::text[]${along ? `, ${$(13)}::bigint[]` : ''}`;
    return {
      ctes: `id_lock AS (SELECT pg_advisory_xact_lock(${$(8)})),
        ins AS (
          INSERT INTO notifications (user_id, channel, type, severity, title, body, data, actions)
          SELECT u, c, t, s, ${text('ti')}, ${text('b')}, ${text('d')}::jsonb, ${text('ac')}::jsonb
            FROM id_lock,
                 unnest(${columns}) WITH ORDINALITY AS x(u, c, t, s, ti, b, d, ac, ${along ? 'a, ' : ''}ord)
                 ${along ? 'JOIN domain ON domain.ord = x.a' : ''}
           ORDER BY x.ord
          ${RETURNING}),
        ${committedMessagesSql($(9), $(10), $(11))}`,
      select: `SELECT ins.*, ${BUS_COLUMN}${along ? ', (SELECT json_agg(domain ORDER BY domain.ord) FROM domain) AS along' : ''}
                 FROM ins, announced`,
      params,
    };
  }

  /** The id lock and how the bus wants the rows announced: parameters 8 to 11 of an insert statement. */
  private announceParams(): unknown[] {
    const size = this.bus.messageSize;
    return [ID_ORDER_LOCK, this.bus.statementChannel, size.chunkBytes, size.limitBytes];
  }

  /** After the insert: answer in draft order, announce (buses that do not in the statement), hand over on commit. */
  private published(tx: Tx, result: Inserted[]): NotificationRow[] {
    // Identity values are drawn as the rows are inserted, in ORDER BY ord, under the lock:
    // sorted by id, rows[i] is drafts[i] (send() relies on it to answer each caller).
    result.sort((a, b) => Number(a.id) - Number(b.id));
    const messages = result[0].bus;
    const rows = result.map(({ bus: _, ...row }) => row);
    if (messages) this.bus.announceCommitted(tx, rows[rows.length - 1].id, messages);
    this.afterCommit(tx, rows);
    return rows;
  }

  /** One row for a broadcast, whatever the audience's size. */
  async publishBroadcast(tx: Tx, draft: BroadcastDraft): Promise<NotificationRow> {
    const a = draft.audience;
    const result: Inserted[] = await tx.manager.query(
      `WITH id_lock AS (SELECT pg_advisory_xact_lock($1)),
            ins AS (
              INSERT INTO notifications (user_id, channel, type, severity, title, body, data, audience_kind,
                                         audience_role, audience_user_ids, expires_at, created_by, deliver, actions,
                                         translations)
              SELECT NULL, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17::jsonb, $18::jsonb FROM id_lock
              ${RETURNING}),
            ${committedMessagesSql('$2', '$3', '$4')}
       SELECT ins.*, ${BUS_COLUMN} FROM ins, announced`,
      [
        ...this.announceParams(),
        draft.channel,
        draft.type,
        draft.severity,
        draft.title,
        draft.body,
        JSON.stringify(draft.data),
        a.kind,
        a.kind === 'role' ? a.role : null,
        a.kind === 'users' ? a.userIds : null,
        draft.expiresAt,
        draft.createdBy,
        // On the row, so that the stream hub knows which broadcasts escalate (stream marks).
        draft.deliver?.length ? [...new Set(draft.deliver)] : null,
        draft.actions?.length ? JSON.stringify(draft.actions) : null,
        draft.translations && Object.keys(draft.translations).length > 0 ? JSON.stringify(draft.translations) : null,
      ],
    );
    return this.published(tx, result)[0];
  }

  /**
   * Publish outside any domain transaction. Calls that arrive within ~2 ms of
   * each other, or while the previous batch commits, are committed together
   * (up to 500): one statement, one lock, one NOTIFY, one fsync per batch.
   */
  send(draft: PersonalDraft): Promise<NotificationRow> {
    return new Promise((resolve, reject) => {
      this.queue.push({ draft, resolve, reject });
      if (this.inFlight) return; // flushed when the batch in flight ends
      if (this.queue.length >= BATCH_MAX) this.flush();
      else if (!this.timer) this.timer = setTimeout(() => this.flush(), BATCH_WAIT_MS);
    });
  }

  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.inFlight || this.queue.length === 0) return;
    const batch = this.queue.splice(0, BATCH_MAX);
    this.inFlight = true;
    this.insertAlone(batch.map((p) => p.draft)).then(
      (inserted) => {
        this.inFlight = false;
        const ids = inserted.map((r) => Number(r.id));
        this.router.committingHere(Math.min(...ids), Math.max(...ids));
        // The next batch goes to the database first (these waited for a commit already: no
        // extra delay); this one's rows are handed over after its statement is on the wire,
        // so that the database and the writes to the streams take their time side by side.
        this.flush();
        setImmediate(() => {
          let rows: NotificationRow[];
          try {
            rows = this.publishedAlone(inserted);
          } catch (err) {
            return this.failed(batch, err);
          }
          batch.forEach((p, i) => p.resolve(rows[i]));
        });
      },
      (err) => {
        this.failed(batch, err);
        this.inFlight = false;
        this.flush();
      },
    );
  }

  private failed(batch: Pending[], err: unknown): void {
    this.logger.warn(`A batch of ${batch.length} notifications failed: ${(err as Error).message}`);
    batch.forEach((p) => p.reject(err));
  }

  /**
   * The insert as a statement of its own, outside any explicit transaction (it is atomic by
   * itself, as in publishAlong): one round trip per batch instead of three (BEGIN, the insert,
   * COMMIT). The batch's commit is the statement's, under the id lock the statement takes.
   */
  private insertAlone(drafts: PersonalDraft[]): Promise<Inserted[]> {
    const statement = this.insertStatement(drafts, 0);
    return this.db.query(`WITH ${statement.ctes} ${statement.select}`, statement.params);
  }

  /** Once committed, the rows go straight to this instance's feed (no read back). */
  private afterCommit(tx: Tx, rows: NotificationRow[]): void {
    tx.afterCommit(() => {
      // One inc per channel, not per row: a labelled inc hashes its labels each time.
      for (const [channel, n] of countBy(rows, (row) => row.channel)) this.metrics.published.inc({ channel }, n);
      this.router.committedHere(rows);
      this.activity.emit(createdActivity(rows));
    });
  }
}

/** One event per committed statement: a broadcast is one row (one event), whatever its audience. */
function createdActivity(rows: NotificationRow[]): Activity {
  const notificationIds = rows.map((r) => String(r.id));
  if (rows[0].user_id === null) return { type: 'notification.created', notificationIds, broadcast: true };
  return { type: 'notification.created', notificationIds, userIds: rows.map((r) => String(r.user_id)) };
}
