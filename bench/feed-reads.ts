/**
 * The reads scenario (issue 24): how many notification rows Postgres serves
 * per notification published, with 1, 3 and 5 instances of the app on one
 * database. Each instance publishes its share of a steady targeted load
 * (NotificationPublisher.send, through the probe); once every instance's feed
 * has dispatched the last id, two counts are taken:
 *   feed       what the instances' feeds read back from the table
 *              (notifications_feed_rows_read_total, summed; null for a build
 *              without the counter), and by why they read;
 *   statement  the rows the feeds' statement (`… FROM notifications n WHERE
 *              n.id > $1 [AND n.id <= $2] ORDER BY n.id LIMIT 1000`) returned,
 *              from pg_stat_statements: the same measure for a `--before-dir`
 *              build that has no counter (null when the server was not
 *              started with the extension).
 * The goal: reads per notification independent of the number of instances.
 */
import pg from 'pg';
import { ID_ORDER_LOCK } from '../src/notifications/notification.publisher.js';
import { RedisServer } from '../test/support/redis.js';
import { now, round, sleep } from './common.js';
import { cpuSeconds } from './accounting.js';

export type ReadsBus = 'postgres' | 'redis';

export interface FeedReadsRun {
  bus: ReadsBus;
  instances: number;
  notifications: number;
  feedRowsRead: number | null;
  /** The same by why the feed read: gap, poll, reconnect. */
  feedRowsByReason: Record<string, number> | null;
  feedRowsPerNotification: number | null;
  /** Calls and rows of the feeds' statement (pg_stat_statements). */
  statementCalls: number | null;
  statementRows: number | null;
  statementRowsPerNotification: number | null;
  /** From the first publish to every feed at the last id. */
  ms: number;
  /**
   * CPU (user + system) of one instance per notification published by all, the mean over the
   * instances, in µs: each publishes its share and routes every row (null without the metric).
   */
  cpuUsPerNotification: number | null;
}

export interface FeedReadsPlan {
  instances: number[];
  buses: ReadsBus[];
  rate: number;
  durationMs: number;
}

/** What the scenario needs from the orchestrator (bench/run.ts). */
export interface Harness {
  databaseUrl: string;
  users: string[];
  start(env: Record<string, string>): Promise<{ port: number; probe: <T>(path: string, body?: unknown) => Promise<T> }>;
  stopAll(): Promise<void>;
  log(line: string): void;
}

/** The feeds' statement, as pg_stat_statements normalises it. */
const FEED_STATEMENT = '% FROM notifications n WHERE n.id > $1 %ORDER BY n.id LIMIT %';

async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

const maxId = async (url: string) =>
  Number((await query<{ max: string }>(url, `SELECT COALESCE(max(id), 0)::text AS max FROM notifications`))[0].max);

/** Calls and rows of the feeds' statement so far (null without pg_stat_statements). */
async function feedStatement(url: string): Promise<{ calls: number; rows: number } | null> {
  try {
    const [r] = await query<{ calls: string; rows: string }>(
      url,
      `SELECT COALESCE(sum(calls), 0)::text AS calls, COALESCE(sum(rows), 0)::text AS rows FROM pg_stat_statements
        WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query LIKE $1`,
      [FEED_STATEMENT],
    );
    return { calls: Number(r.calls), rows: Number(r.rows) };
  } catch {
    return null;
  }
}

/** A metric of an instance's /metrics by its `reason` label (null when the build has no such metric). */
async function byReason(port: number, name: string): Promise<Record<string, number> | null> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  // A labelled counter that never moved has its TYPE line and no sample.
  let found: Record<string, number> | null = text.includes(`# TYPE ${name} `) ? {} : null;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const reason = /reason="([^"]*)"/.exec(line)?.[1] ?? '';
    found ??= {};
    found[reason] = (found[reason] ?? 0) + Number(line.split(' ').pop());
  }
  return found;
}

/** Per reason, what the instances' counters moved by, summed (null if one has no such metric). */
function moved(before: Array<Record<string, number> | null>, after: Array<Record<string, number> | null>) {
  if (after.some((x) => x === null)) return null;
  const sum: Record<string, number> = {};
  after.forEach((a, i) => {
    for (const [reason, v] of Object.entries(a!)) sum[reason] = (sum[reason] ?? 0) + v - (before[i]?.[reason] ?? 0);
  });
  return sum;
}

/**
 * At least this many rows in the table first: on a small table the planner reads
 * sequentially even for "id > n ORDER BY id LIMIT 1000", which a deployment does not.
 */
const PREFILL = 20_000;

async function prefill(url: string, userId: string): Promise<void> {
  // pg_settings shows a role without the privilege no row for it (current_setting would fail).
  const preload = await query<{ setting: string }>(
    url,
    `SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries'`,
  );
  if (preload[0]?.setting.includes('pg_stat_statements')) {
    await query(url, 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  }
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('BEGIN');
    await c.query('SELECT pg_advisory_xact_lock($1)', [ID_ORDER_LOCK]);
    await c.query(
      `INSERT INTO notifications (user_id, channel, type, severity, title, body, data)
       SELECT $1, 'order', 'order.shipped', 'info', 'prefill', '', '{}'
         FROM generate_series(1, $2::int - (SELECT count(*) FROM notifications)::int)`,
      [userId, PREFILL],
    );
    await c.query('COMMIT');
    await c.query('ANALYZE notifications');
  } finally {
    await c.end();
  }
}

export async function feedReads(h: Harness, plan: FeedReadsPlan): Promise<FeedReadsRun[]> {
  const runs: FeedReadsRun[] = [];
  await prefill(h.databaseUrl, h.users[0]);
  for (const bus of plan.buses) {
    // A redis-server of the scenario's own (the tests' helper), when the redis bus is measured.
    const redis = bus === 'redis' ? await RedisServer.start() : undefined;
    try {
      for (const k of plan.instances) runs.push(await once(h, plan, bus, k, redis?.url));
    } finally {
      await redis?.stop();
    }
  }
  return runs;
}

async function once(
  h: Harness,
  plan: FeedReadsPlan,
  bus: ReadsBus,
  k: number,
  redisUrl?: string,
): Promise<FeedReadsRun> {
  const env: Record<string, string> = redisUrl ? { REDIS_URL: redisUrl } : {};
  const instances = await Promise.all(Array.from({ length: k }, () => h.start(env)));
  try {
    const firstId = await maxId(h.databaseUrl);
    const feed0 = await Promise.all(instances.map((s) => byReason(s.port, 'notifications_feed_rows_read_total')));
    const statement0 = await feedStatement(h.databaseUrl);
    const cpu0 = await Promise.all(instances.map((s) => cpuSeconds(s.port)));
    const started = now();
    // Each instance publishes its share, to every user in turn.
    await Promise.all(
      instances.map((s, i) =>
        s.probe('/targeted', { rate: plan.rate / k, durationMs: plan.durationMs, users: h.users, step: 1000 + i }),
      ),
    );
    const lastId = await maxId(h.databaseUrl);
    const deadline = now() + 60_000;
    for (;;) {
      const positions = await Promise.all(instances.map((s) => s.probe<{ position: string }>('/feed')));
      if (positions.every((p) => Number(p.position) >= lastId)) break;
      if (now() > deadline) throw new Error(`reads scenario: feeds at ${JSON.stringify(positions)}, last id ${lastId}`);
      await sleep(50);
    }
    const ms = now() - started;
    const cpu1 = await Promise.all(instances.map((s) => cpuSeconds(s.port)));
    const feed1 = await Promise.all(instances.map((s) => byReason(s.port, 'notifications_feed_rows_read_total')));
    const statement1 = await feedStatement(h.databaseUrl);
    const notifications = lastId - firstId;
    const feedRowsByReason = moved(feed0, feed1);
    const feedRowsRead = feedRowsByReason && Object.values(feedRowsByReason).reduce((a, b) => a + b, 0);
    const statement =
      statement0 && statement1
        ? { calls: statement1.calls - statement0.calls, rows: statement1.rows - statement0.rows }
        : null;
    const run: FeedReadsRun = {
      bus,
      instances: k,
      notifications,
      feedRowsRead,
      feedRowsByReason,
      feedRowsPerNotification: feedRowsRead === null ? null : round(feedRowsRead / notifications, 3),
      statementCalls: statement?.calls ?? null,
      statementRows: statement?.rows ?? null,
      statementRowsPerNotification: statement ? round(statement.rows / notifications, 3) : null,
      ms: round(ms, 0),
      cpuUsPerNotification: [...cpu0, ...cpu1].some((x) => x === null)
        ? null
        : round((cpu1.reduce<number>((a, x, i) => a + x! - cpu0[i]!, 0) / k / notifications) * 1e6, 1),
    };
    h.log(
      `reads, ${bus} bus, ${k} instance${k === 1 ? '' : 's'}: ${notifications} notifications; rows read back by the feeds ${feedRowsRead ?? '—'} (${run.feedRowsPerNotification ?? '—'}/notification, ${JSON.stringify(feedRowsByReason)}); the feeds' statement: ${statement?.calls ?? '—'} calls, ${statement?.rows ?? '—'} rows (${run.statementRowsPerNotification ?? '—'}/notification); CPU of one instance ${run.cpuUsPerNotification ?? '—'} µs/notification`,
    );
    return run;
  } finally {
    await h.stopAll();
  }
}
