import pg from 'pg';
import type { NotificationRow, PerUserColumn } from '../notification.types.js';

/**
 * "committed" messages: the rows one publishing statement committed, built by
 * that statement itself (`committedMessagesSql`, serialised once, by
 * Postgres) and read back on every instance (`rowsOf`), so that a feed does not
 * read back what the bus brought. A row travels as a JSON array of its columns
 * in the text form the driver reads, so `rowsOf` gives exactly the object a
 * `SELECT` would have.
 */
const WIRE_COLUMNS = [
  ['id', 'id::text'],
  ['user_id', 'user_id::text'],
  ['channel', 'channel'],
  ['type', 'type'],
  ['severity', 'severity'],
  ['title', 'title'],
  ['body', 'body'],
  ['data', 'data'],
  ['audience_kind', 'audience_kind'],
  ['audience_role', 'audience_role'],
  ['audience_user_ids', 'audience_user_ids::text[]'],
  ['created_at', 'created_at::text'],
  ['expires_at', 'expires_at::text'],
  ['deliver', 'deliver'],
  ['actions', 'actions'],
  ['translations', 'translations'],
] as const satisfies ReadonlyArray<readonly [keyof NotificationRow, string]>;
// Every stored column travels: a column added to NotificationRow fails here until it is listed above.
const everyColumnListed: [Exclude<keyof NotificationRow, (typeof WIRE_COLUMNS)[number][0] | PerUserColumn>] extends [
  never,
]
  ? true
  : never = true;
void everyColumnListed;

/** timestamptz as the driver parses it: the same text gives the same Date, to the millisecond. */
const timestamp = pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ) as (text: string) => Date;

export interface CommittedMessage {
  t: 'committed';
  /** The newest id of the statement's rows (or of this message's share of them). */
  upTo: string;
  /**
   * Every row the statement committed from the first's id to `upTo`, in id
   * order; absent when they did not fit in one message.
   */
  rows?: unknown[][];
  /**
   * The message as it came over the wire, not parsed yet: a feed that has seen `upTo` already
   * (an instance's own commits, mostly) never needs its rows. `rowsOf` parses them.
   */
  wire?: string;
}

/** The start every "committed" message has (committedMessagesSql, AfterCommitPublisher). */
const HEADER = /^\{"t":"committed","upTo":"(\d{1,19})"[,}]/;

/** A "committed" payload with only its header read, or null for any other payload. */
export function committedHeader(payload: string): CommittedMessage | null {
  const header = HEADER.exec(payload);
  return header ? { t: 'committed', upTo: header[1], wire: payload } : null;
}

/**
 * The rows of a "committed" message, as the driver would have read them; null when it carries
 * none. Throws a SyntaxError when the rows of a message off the wire are not JSON.
 */
export function rowsOf(message: CommittedMessage): NotificationRow[] | null {
  const rows = message.wire === undefined ? message.rows : (JSON.parse(message.wire) as CommittedMessage).rows;
  if (!Array.isArray(rows) || rows.length === 0) return null;
  return rows.map((wire) => {
    const row: Record<string, unknown> = {};
    WIRE_COLUMNS.forEach(([name], i) => (row[name] = wire[i]));
    row.created_at = timestamp(row.created_at as string);
    row.expires_at = row.expires_at === null ? null : timestamp(row.expires_at as string);
    return row as unknown as NotificationRow;
  });
}

/** How a bus wants the messages cut: a new one every `chunkBytes` of rows, none over `limitBytes`. */
export interface MessageSize {
  chunkBytes: number;
  limitBytes: number;
}

/**
 * CTEs over `ins` (the rows being inserted, with their stored columns) ending
 * in `announced`: one row with `lo` (the first id) and, when `channel` (SQL
 * text, a parameter) is null, `messages`, the statement's "committed"
 * messages in id order; otherwise they are NOTIFYed on that channel, delivered
 * on commit. Rows are cut into messages of about `size.chunkBytes`; a message
 * that would exceed `size.limitBytes` (one long row, say) carries only its
 * `upTo`, and every feed reads those rows from the table.
 */
export function committedMessagesSql(channel: string, chunkBytes: string, limitBytes: string): string {
  return `wire AS (SELECT id, json_build_array(${WIRE_COLUMNS.map(([, sql]) => sql).join(', ')})::text AS w FROM ins),
    cut AS (SELECT id, w, (sum(octet_length(w) + 2) OVER (ORDER BY id) - 1) / ${chunkBytes} AS part FROM wire),
    parts AS (
      SELECT min(id) AS lo, max(id) AS hi,
             '{"t":"committed","upTo":"' || max(id) || '","rows":[' || string_agg(w, ',' ORDER BY id) || ']}' AS m
        FROM cut GROUP BY part),
    messages AS (
      SELECT lo, CASE WHEN octet_length(m) <= ${limitBytes} THEN m ELSE '{"t":"committed","upTo":"' || hi || '"}' END AS m
        FROM parts ORDER BY lo),
    announced AS (
      SELECT min(lo) AS lo, array_agg(m ORDER BY lo) FILTER (WHERE ${channel}::text IS NULL) AS messages,
             count(CASE WHEN ${channel}::text IS NOT NULL THEN pg_notify(${channel}, m) END) AS notified
        FROM messages)`;
}
