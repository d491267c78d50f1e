import pg from 'pg';
import { Client } from './http.js';
import { Instance, eventually } from './cluster.js';
import { Nginx } from './nginx.js';
import { ResumingClient } from './resuming-client.js';

/**
 * The rolling restart of issue 24, shared by test/rolling-restart.nginx.test.ts and the benchmark:
 * instances of the built service behind the shipped nginx, streams open through it (reconnecting
 * as EventSource does: after the server's `retry:`, with their Last-Event-ID), orders placed
 * through it at a steady rate by signed-in users, and each instance SIGTERMed and started again in
 * turn. It reports what every client got against what committed, every answer that was not a
 * success, and each restart's reconnect storm.
 */
export interface RollingRestartOptions {
  databaseUrl: string;
  instances: number;
  users: number;
  /** Streams in all, spread evenly over the users. */
  streams: number;
  ordersPerSecond: number;
  /** Steady state before the first restart and between restarts. */
  settleMs: number;
  /** Extra environment for the instances. */
  env?: Record<string, string>;
  mainJs?: string;
  log?: (line: string) => void;
}

/** One instance's restart, seen from the clients. */
export interface RestartStorm {
  instance: string;
  exit: { code: number | null; signal: NodeJS.Signals | null };
  /** SIGTERM to exit. */
  stopMs: number;
  /** Streams that were on it and had to reconnect. */
  moved: number;
  /** SIGTERM to the first and to the last of them open again (200) elsewhere. */
  firstReconnectMs: number;
  allReconnectedMs: number;
  /** Where they went: surviving instance → streams. */
  perInstance: Record<string, number>;
  /** The instance's own account of its drain (its log line). */
  drained: string;
}

export interface RollingRestartReport {
  streams: number;
  users: number;
  orders: number;
  /** Answers to POST /orders by status ("201", "502", or an error's code). */
  orderAnswers: Record<string, number>;
  /** Stream answers other than 200, and connection errors. */
  streamProblems: string[];
  /** Per stream, compared with its user's committed ids. */
  lost: number;
  duplicated: number;
  outOfOrder: number;
  /** Streams whose received ids differ from their user's committed ids in any way. */
  mismatched: number;
  storms: RestartStorm[];
  /** nginx's access log lines with another status than 200/201 (with the upstream and its status), and its error log. */
  nginxProblems: string[];
  ms: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function rollingRestart(o: RollingRestartOptions): Promise<RollingRestartReport> {
  const log = o.log ?? (() => undefined);
  const started = Date.now();
  // The drain window as shipped (SHUTDOWN_DRAIN_MS unset), paired with the shipped nginx.
  const env = { SHUTDOWN_DRAIN_MS: '', ...o.env };
  const instances = await Promise.all(
    Array.from({ length: o.instances }, (_, i) =>
      // A start on a machine loaded by everything else running takes long: it delays, never fails, the run.
      Instance.start({
        databaseUrl: o.databaseUrl,
        env,
        name: `app${i + 1}`,
        mainJs: o.mainJs,
        startTimeoutMs: 180_000,
      }),
    ),
  );
  const names = new Map(instances.map((i) => [`127.0.0.1:${i.port}`, i.name]));
  const nginx = await Nginx.start(instances.map((i) => i.port));
  const clients: Array<{ userId: string; stream: ResumingClient }> = [];
  const orderAnswers: Record<string, number> = {};
  let ordering = true;
  let placed = 0;
  const inFlight = new Set<Promise<void>>();
  try {
    const users: Array<{ id: string; client: Client }> = [];
    for (let i = 0; i < o.users; i += 5) {
      const batch = Array.from({ length: Math.min(5, o.users - i) }, async (_, k) => {
        const client = new Client(nginx.baseUrl);
        const user = await client.signUp(`rolling-${i + k}@example.com`);
        return { id: user.id, client };
      });
      users.push(...(await Promise.all(batch)));
    }
    for (let s = 0; s < o.streams; s++) {
      const user = users[s % users.length];
      const stream = new ResumingClient(`stream ${s}`, user.client.cookieHeader, () => nginx.baseUrl);
      stream.followServerRetry = true;
      clients.push({ userId: user.id, stream });
      stream.connect();
    }
    await eventually(() => clients.every((c) => c.stream.readies > 0), 'every stream ready', 60_000, 100);
    log(`${o.streams} streams open for ${o.users} users through nginx`);

    // Orders at a steady rate, round-robin over the users, each answer counted.
    const orderLoop = (async () => {
      const every = 1000 / o.ordersPerSecond;
      const t0 = Date.now();
      for (let n = 0; ordering; n++) {
        const user = users[n % users.length];
        const p = user.client
          .post('/orders', { items: [{ sku: `ROLL-${n}`, quantity: 1, unitPrice: 100 }] })
          .then(
            (res) => String(res.status),
            (err: Error & { cause?: { code?: string } }) => `error ${err.cause?.code ?? err.message}`,
          )
          .then((answer) => {
            orderAnswers[answer] = (orderAnswers[answer] ?? 0) + 1;
            inFlight.delete(p);
          });
        inFlight.add(p);
        placed++;
        await sleep(Math.max(0, t0 + (n + 1) * every - Date.now()));
      }
    })();

    const storms: RestartStorm[] = [];
    await sleep(o.settleMs);
    for (let i = 0; i < instances.length; i++) {
      const inst = instances[i];
      const before = clients.map((c) => c.stream.endedAt.length);
      const sigterm = Date.now();
      const exit = await inst.stop();
      const stopMs = Date.now() - sigterm;
      instances[i] = await inst.restart();
      await instances[i].waitHealthy(120_000);
      // Every stream that ended since the SIGTERM is open again.
      const movedIdx = () => clients.flatMap((c, k) => (c.stream.endedAt.length > before[k] ? [k] : []));
      const reopenedAfter = (k: number) =>
        clients[k].stream.opened.find((op) => op.at >= clients[k].stream.endedAt[before[k]]);
      await eventually(
        () => movedIdx().every((k) => clients[k].stream.connected && reopenedAfter(k) !== undefined),
        `the streams of ${inst.name} reconnected`,
        60_000,
        50,
      );
      const reopened = movedIdx().map((k) => reopenedAfter(k)!);
      const perInstance: Record<string, number> = {};
      for (const op of reopened) {
        // $upstream_addr lists every instance tried: the last one answered.
        const addr = (op.upstream ?? '?').split(', ').at(-1)!;
        const name = names.get(addr) ?? addr;
        perInstance[name] = (perInstance[name] ?? 0) + 1;
      }
      const times = reopened.map((op) => op.at - sigterm);
      const storm: RestartStorm = {
        instance: inst.name,
        exit,
        stopMs,
        moved: reopened.length,
        firstReconnectMs: times.length ? Math.min(...times) : 0,
        allReconnectedMs: times.length ? Math.max(...times) : 0,
        perInstance,
        drained: /drained \(.*\)/.exec(inst.output)?.[0] ?? inst.output.slice(-2000),
      };
      storms.push(storm);
      log(
        `restart ${inst.name}: exit ${exit.code}, stopped in ${stopMs} ms; ${storm.moved} streams reconnected ` +
          `${storm.firstReconnectMs}–${storm.allReconnectedMs} ms after SIGTERM, ${JSON.stringify(perInstance)}; ${storm.drained}`,
      );
      await sleep(o.settleMs);
    }
    ordering = false;
    await orderLoop;
    await Promise.all([...inFlight]);

    // What committed, per user, against what each of the user's streams received.
    const db = new pg.Client({ connectionString: o.databaseUrl });
    await db.connect();
    const committed = new Map<string, number[]>();
    try {
      const { rows } = await db.query<{ user_id: string; ids: string[] }>(
        `SELECT user_id::text, array_agg(id::text ORDER BY id) AS ids FROM notifications GROUP BY user_id`,
      );
      for (const r of rows) committed.set(r.user_id, r.ids.map(Number));
    } finally {
      await db.end();
    }
    const want = (c: (typeof clients)[number]) => committed.get(c.userId) ?? [];
    await eventually(
      () => clients.every((c) => c.stream.received.length >= want(c).length),
      'every stream has its user’s notifications',
      60_000,
      100,
    ).catch(() => undefined); // what is missing is reported as lost below
    let lost = 0;
    let mismatched = 0;
    for (const c of clients) {
      const got = new Set(c.stream.received);
      lost += want(c).filter((id) => !got.has(id)).length;
      if (JSON.stringify(c.stream.received) !== JSON.stringify(want(c))) mismatched++;
    }
    return {
      streams: o.streams,
      users: o.users,
      orders: placed,
      orderAnswers,
      streamProblems: clients.flatMap((c) => c.stream.problems.map((p) => `${c.stream.name}: ${p}`)),
      lost,
      duplicated: clients.reduce((n, c) => n + c.stream.duplicates, 0),
      outOfOrder: clients.reduce((n, c) => n + c.stream.outOfOrder, 0),
      mismatched,
      storms,
      nginxProblems: [
        ...nginx
          .accessLogLines()
          .filter((l) => l.status !== 200 && l.status !== 201)
          .map((l) => JSON.stringify(l)),
        ...nginx.errorLog.split('\n').filter((l) => l.trim() !== ''),
      ],
      ms: Date.now() - started,
    };
  } finally {
    ordering = false;
    for (const c of clients) c.stream.stop();
    await nginx.stop();
    await Promise.all(instances.map((i) => i.stop()));
  }
}
