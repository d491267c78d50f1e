/**
 * The offline fan-out scenario (issue 24): a broadcast with `deliver` to many users with no
 * stream open, from `POST /admin/broadcasts` to the last message at a local sink, per method:
 *   email  an SMTP server (smtp-server) that counts each recipient and discards the message;
 *   push   an HTTPS push service on 127.0.0.1 (a self-signed certificate the app trusts through
 *          NODE_EXTRA_CA_CERTS) that counts each endpoint and answers 201, as push services do.
 * The sinks run in this process and do not parse or decrypt (the tests' sinks do): what is
 * measured is the app's side. Users and push subscriptions are seeded (one key pair for all:
 * every message is still encrypted and signed on its own). Reported: messages per second from
 * the first to the last (and from the POST, the escalation delay included), the app's CPU per
 * message, and whether every recipient got exactly one.
 */
import { spawnSync } from 'node:child_process';
import { createECDH, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { SMTPServer } from 'smtp-server';
import { now, round } from './common.js';
import { cpuSeconds, databaseStatements } from './accounting.js';
import type { Harness } from './feed-reads.js';

export type OfflineMethod = 'email' | 'push';

export interface OfflineFanoutPlan {
  users: number;
  methods: OfflineMethod[];
  /** Instances of the app sharing the send jobs. */
  instances: number;
}

export interface OfflineFanoutRun {
  method: OfflineMethod;
  instances: number;
  recipients: number;
  /** Recipients that got the message once, more than once, and not at all. */
  once: number;
  twice: number;
  missing: number;
  /** From the first message at the sink to the last. */
  perSecond: number;
  /** From the POST to the last message (the escalation delay included). */
  perSecondFromPost: number;
  /**
   * The audience's escalation (its keyset pages, one after another): users per second from the
   * first page's decision to the last's, read from the delivery rows' `not_before`.
   */
  escalatedPerSecond: number | null;
  seconds: number;
  /** The app's CPU (user + system, all instances) per message, in µs; null without the metric. */
  cpuUsPerMessage: number | null;
}

/** A sink that counts what reached it, per notification id and recipient. */
interface Sink {
  env: Record<string, string>;
  origin: string;
  counts: Map<string, Map<string, number>>;
  first: number;
  last: number;
  close(): Promise<void>;
}

/** Counts a message to `recipient` under each notification it carries ('*': not known). */
function count(sink: Sink, notificationIds: string[], recipient: string): void {
  for (const id of notificationIds) {
    const per = sink.counts.get(id) ?? new Map<string, number>();
    sink.counts.set(id, per.set(recipient, (per.get(recipient) ?? 0) + 1));
  }
  sink.first ||= now();
  sink.last = now();
}

async function smtpSink(): Promise<Sink> {
  const sink = { counts: new Map(), first: 0, last: 0 } as Sink;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, done) {
      // The header says which notifications the digest carries; the rest is discarded.
      let head = '';
      stream.on('data', (chunk: Buffer) => {
        if (head.length < 8192) head += chunk.toString('latin1');
      });
      stream.on('end', () => {
        const ids = /^X-Notification-Ids:\s*([\d,]+)/im.exec(head)?.[1].split(',') ?? ['*'];
        for (const r of session.envelope.rcptTo) count(sink, ids, r.address);
        done();
      });
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.server.address() as AddressInfo;
  sink.env = { SMTP_URL: `smtp://127.0.0.1:${port}` };
  sink.close = () => new Promise<void>((r) => server.close(() => r()));
  return sink;
}

async function pushSink(dir: string): Promise<Sink> {
  const made = spawnSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1'],
      ...[
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        'push.key',
        '-out',
        'push.pem',
      ],
    ],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  if (made.status !== 0) throw new Error(`openssl failed: ${made.stderr}`);
  const sink = { counts: new Map(), first: 0, last: 0 } as Sink;
  const server = https.createServer(
    { key: readFileSync(join(dir, 'push.key')), cert: readFileSync(join(dir, 'push.pem')), keepAliveTimeout: 60_000 },
    (req, res) => {
      req.on('data', () => undefined);
      req.on('end', () => {
        // The payload is encrypted: every push counts under '*' (the audience has no other).
        count(sink, ['*'], req.url ?? '');
        res.writeHead(201).end();
      });
    },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  sink.origin = origin;
  sink.env = { NODE_EXTRA_CA_CERTS: join(dir, 'push.pem'), PUSH_ENDPOINT_ALLOWLIST: origin };
  sink.close = () => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  };
  return sink;
}

/** Seeds the audience: `users` accounts, each with one push subscription on the sink's origin. */
async function seed(url: string, users: number, pushOrigin: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const tag = randomBytes(4).toString('hex');
    await c.query(
      `WITH u AS (
         INSERT INTO users (email, password_hash, role, created_at)
         SELECT 'offline-' || $2 || '-' || i || '@bench.test', 'x', 'user', now() - interval '1 minute'
           FROM generate_series(1, $1) i
         RETURNING id)
       INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth)
       SELECT id, $3 || '/push/' || id, $4, $5 FROM u`,
      [users, tag, pushOrigin, ecdh.getPublicKey().toString('base64url'), randomBytes(16).toString('base64url')],
    );
  } finally {
    await c.end();
  }
}

async function escalationRate(url: string, notificationId: string): Promise<number | null> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ n: number; s: number }>(
      `SELECT count(*)::int AS n, extract(epoch FROM max(not_before) - min(not_before))::float AS s
         FROM deliveries WHERE notification_id = $1`,
      [notificationId],
    );
    return rows[0].s > 0 ? round(rows[0].n / rows[0].s, 0) : null;
  } finally {
    await c.end();
  }
}

async function expected(url: string, method: OfflineMethod): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const sql =
      method === 'email'
        ? `SELECT count(*)::int AS n FROM users WHERE disabled_at IS NULL`
        : `SELECT count(DISTINCT user_id)::int AS n FROM push_subscriptions`;
    return (await c.query<{ n: number }>(sql)).rows[0].n;
  } finally {
    await c.end();
  }
}

/** The delivery rows of recipients who got more than one message: what the table says happened. */
async function attemptsOf(url: string, method: OfflineMethod, recipients: string[]): Promise<string> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const users =
      method === 'email'
        ? `SELECT id FROM users WHERE email = ANY ($1)`
        : `SELECT user_id FROM push_subscriptions WHERE endpoint LIKE ANY (SELECT '%' || r FROM unnest($1::text[]) r)`;
    const { rows } = await c.query(
      `SELECT user_id, status, attempts, error FROM deliveries WHERE method = $2 AND user_id IN (${users}) LIMIT 10`,
      [recipients.slice(0, 5), method],
    );
    return JSON.stringify(rows);
  } finally {
    await c.end();
  }
}

export async function offlineFanout(
  h: Harness & {
    broadcast(port: number, deliver: OfflineMethod[]): Promise<string>;
    tmp: string;
    /** A directory for the app's CPU profile of each method's run (`--profile`). */
    profileDir?: string;
  },
  plan: OfflineFanoutPlan,
): Promise<OfflineFanoutRun[]> {
  const email = await smtpSink();
  const push = await pushSink(h.tmp);
  const runs: OfflineFanoutRun[] = [];
  try {
    await seed(h.databaseUrl, plan.users, push.origin);
    const apps: Array<Awaited<ReturnType<Harness['start']>>> = [];
    for (let i = 0; i < plan.instances; i++)
      apps.push(await h.start({ ...email.env, ...push.env, ESCALATE_AFTER_MS: '200' }));
    const [app] = apps;
    const cpu = async () => {
      const each = await Promise.all(apps.map((a) => cpuSeconds(a.port)));
      return each.includes(null) ? null : (each as number[]).reduce((a, b) => a + b, 0);
    };
    for (const method of plan.methods) {
      const sink = method === 'email' ? email : push;
      sink.counts.clear();
      sink.first = 0;
      const recipients = await expected(h.databaseUrl, method);
      await databaseStatements(h.databaseUrl, 'reset');
      const cpuBefore = await cpu();
      if (h.profileDir) await app.probe('/profile/start');
      const posted = now();
      const id = await h.broadcast(app.port, [method]);
      const got = () => sink.counts.get(method === 'email' ? id : '*') ?? new Map<string, number>();
      let seen = 0;
      for (let idle = posted; got().size < recipients; await new Promise((r) => setTimeout(r, 200))) {
        if (got().size > seen) [seen, idle] = [got().size, now()];
        if (now() - idle > 60_000) break; // nothing new for a minute: report what is missing
      }
      const cpuAfter = await cpu();
      if (h.profileDir)
        await app.probe('/profile/stop', { file: join(h.profileDir, `app-offline-${method}.cpuprofile`) });
      const counts = [...got().values()];
      const once = counts.filter((n) => n === 1).length;
      const twice = [...got()].filter(([, n]) => n > 1).map(([r]) => r);
      if (twice.length > 0) {
        h.log(
          `   ${method}: more than once to ${twice.slice(0, 5).join(', ')}: ${await attemptsOf(h.databaseUrl, method, twice)}`,
        );
      }
      const run: OfflineFanoutRun = {
        method,
        instances: plan.instances,
        recipients,
        once,
        twice: twice.length,
        missing: recipients - counts.length,
        perSecond: round(counts.length / Math.max(0.001, (sink.last - sink.first) / 1000), 0),
        perSecondFromPost: round(counts.length / ((sink.last - posted) / 1000), 0),
        escalatedPerSecond: await escalationRate(h.databaseUrl, id),
        seconds: round((sink.last - posted) / 1000, 1),
        cpuUsPerMessage:
          cpuBefore === null || cpuAfter === null ? null : round(((cpuAfter - cpuBefore) * 1e6) / counts.length, 0),
      };
      h.log(
        `   ${method}, ${plan.instances} instance(s): ${counts.length} of ${recipients} in ${run.seconds} s from the POST, ` +
          `${run.perSecond}/s first to last (escalated at ${run.escalatedPerSecond} users/s); twice ${run.twice}, missing ${run.missing}, ${run.cpuUsPerMessage} µs CPU each`,
      );
      const top = await databaseStatements(h.databaseUrl, 'read');
      if (top) h.log(`   ${method}: the database's time, top statements:\n      ${top}`);
      runs.push(run);
    }
  } finally {
    await h.stopAll();
    await email.close();
    await push.close();
  }
  return runs;
}
