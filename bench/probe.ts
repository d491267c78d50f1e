/**
 * Bench-only preload for the app process:
 *   node --expose-gc --import ./dist/bench/probe.js dist/src/main.js
 * It changes nothing in the app. It captures the Nest application when
 * main.ts creates it (by wrapping NestFactory.create) and serves, on a
 * loopback-only port of its own (BENCH_PROBE_PORT), what a benchmark needs
 * from inside the process: memory after GC, a clock for latency, and the
 * internal publish API (NotificationPublisher), which has no HTTP route.
 * Production code holds no bench hook; without this preload there is no port.
 * BENCH_APP_ROOT names the checkout whose dist/ runs (default: this one).
 */
import type { INestApplication } from '@nestjs/common';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { TransactionRunner as TransactionRunnerType } from '../src/database/transaction.js';
import type { NotificationPublisher as NotificationPublisherType } from '../src/notifications/notification.publisher.js';
import type { PersonalDraft } from '../src/notifications/notification.types.js';
import type { NotificationFeed as NotificationFeedType } from '../src/notifications/notification-feed.js';
import type { StreamHub as StreamHubType } from '../src/notifications/stream-hub.js';
import {
  BODY,
  HeapSampler,
  TARGETED_TITLE,
  memoryNow,
  now,
  paced,
  profilingRoutes,
  startControlServer,
} from './common.js';

const port = Number(process.env.BENCH_PROBE_PORT);
if (!port) throw new Error('bench/probe.js needs BENCH_PROBE_PORT');

/**
 * The tree whose app runs (`npm run bench -- --app-dir <checkout>`): its own
 * @nestjs/core and its own classes are imported, the very module instances its
 * dist/src/main.js loads, so the same probe measures another built checkout.
 */
const appRoot = resolve(process.env.BENCH_APP_ROOT ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..'));
const fromApp = <T>(path: string): Promise<T> => import(pathToFileURL(join(appRoot, path)).href) as Promise<T>;
const nestCore = createRequire(join(appRoot, 'package.json')).resolve('@nestjs/core');
const { NestFactory } = (await import(pathToFileURL(nestCore).href)) as typeof import('@nestjs/core');
const { TransactionRunner } = await fromApp<{ TransactionRunner: typeof TransactionRunnerType }>(
  'dist/src/database/transaction.js',
);
const { ID_ORDER_LOCK, NotificationPublisher } = await fromApp<{
  ID_ORDER_LOCK: unknown;
  NotificationPublisher: typeof NotificationPublisherType;
}>('dist/src/notifications/notification.publisher.js');
const { StreamHub } = await fromApp<{ StreamHub: typeof StreamHubType }>('dist/src/notifications/stream-hub.js');
const { NotificationFeed } = await fromApp<{ NotificationFeed: typeof NotificationFeedType }>(
  'dist/src/notifications/notification-feed.js',
);

let app: INestApplication | null = null;
const factory = NestFactory as unknown as { create: (...args: unknown[]) => Promise<INestApplication> };
const create = factory.create.bind(NestFactory);
factory.create = async (...args: unknown[]) => {
  app = await create(...args);
  return app;
};

function get<T>(token: new (...args: any[]) => T): T {
  if (!app) throw new Error('The app has not been created yet');
  return app.get(token, { strict: false });
}

function draft(userId: string, data: Record<string, unknown>): PersonalDraft {
  return { userId, channel: 'order', type: 'order.shipped', severity: 'info', title: TARGETED_TITLE, body: BODY, data };
}

const sampler = new HeapSampler();

await startControlServer(port, {
  ...profilingRoutes(),
  '/memory': () => memoryNow(),
  '/clock': () => ({ now: now() }),
  '/sample/start': () => sampler.start(),
  '/sample/stop': () => sampler.stop(),
  '/streams': () => ({ streams: (get(StreamHub) as unknown as { size?: number }).size ?? null }),
  /** The newest id this instance's feed has dispatched (the reads scenario waits for every instance to reach the last). */
  '/feed': () => ({ position: String(get(NotificationFeed).position) }),

  /** Fallback for fan-out while POST /admin/broadcasts is not in this build. */
  '/broadcast': async (b: { title: string }) => {
    const publisher = get(NotificationPublisher);
    const row = await get(TransactionRunner).run((tx) =>
      publisher.publishBroadcast(tx, {
        channel: 'system',
        type: 'system.broadcast',
        severity: 'info',
        title: b.title,
        body: BODY,
        data: {},
        audience: { kind: 'all' },
        expiresAt: null,
        createdBy: null,
      }),
    );
    return { id: row.id };
  },

  /** Targeted notifications through NotificationPublisher.send (group commit). */
  '/targeted': (b: { rate: number; durationMs: number; users: string[]; step: number }) => {
    const publisher = get(NotificationPublisher);
    const users = b.users;
    return paced(b.rate, b.durationMs, (i) => publisher.send(draft(users[i % users.length], { t: now(), s: b.step })));
  },

  /** `count` notifications to one user (the replay backlog), as fast as group commit takes them. */
  '/bulk': async (b: { user: string; count: number }) => {
    const publisher = get(NotificationPublisher);
    const started = now();
    const rows = await Promise.all(
      Array.from({ length: b.count }, (_, i) => publisher.send(draft(b.user, { t: now(), s: -1, i }))),
    );
    return { first: rows[0]?.id, last: rows[rows.length - 1]?.id, ms: now() - started };
  },

  /**
   * Id-ordering alternatives (issue 3), persisted/s only: `concurrency`
   * workers each committing one notification per transaction, either through
   * NotificationPublisher.publish (advisory lock held through commit, like a
   * POST /orders transaction) or with the same INSERT and no lock (what a
   * writer would pay if a relay ordered ids afterwards).
   */
  '/tx-loop': async (b: { mode: 'lock' | 'nolock'; concurrency: number; durationMs: number; user: string }) => {
    const publisher = get(NotificationPublisher);
    const transactions = get(TransactionRunner);
    const until = now() + b.durationMs;
    let committed = 0;
    const worker = async () => {
      while (now() < until) {
        await transactions.run(async (tx) => {
          if (b.mode === 'lock') {
            await publisher.publish(tx, [draft(b.user, { t: now(), s: -2 })]);
          } else {
            await tx.manager.query(
              `INSERT INTO notifications (user_id, channel, type, severity, title, body, data)
               VALUES ($1, 'order', 'order.shipped', 'info', $2, $3, $4)`,
              [b.user, TARGETED_TITLE, BODY, JSON.stringify({ t: now(), s: -3 })],
            );
          }
        });
        committed++;
      }
    };
    const started = now();
    await Promise.all(Array.from({ length: b.concurrency }, worker));
    const ms = now() - started;
    return { committed, ms, perSecond: (committed * 1000) / ms, lock: ID_ORDER_LOCK };
  },
});
