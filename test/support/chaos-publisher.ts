/**
 * A publishing process for the chaos run: boots the app (createApp + init, no
 * HTTP port) against DATABASE_URL (and REDIS_URL, if set), then WORKERS
 * concurrent publishers write COUNT notifications in all for USER_IDS, spread
 * over about DURATION_MS. Half the workers publish inside their own
 * transactions (as an event source does: 1–5 notifications, last in the
 * transaction), half through NotificationPublisher.send (group commit). A
 * failed transaction is retried; it may or may not have committed, which is
 * why the test compares against what the database holds. Prints one JSON line.
 *
 *   node dist/test/support/chaos-publisher.js
 */
import 'reflect-metadata';
import { draft, startPublisherApp } from './publisher-app.js';

const env = process.env;
const userIds = (env.USER_IDS ?? '').split(',').filter(Boolean);
const count = Number(env.COUNT ?? 1000);
const workers = Number(env.WORKERS ?? 4);
const durationMs = Number(env.DURATION_MS ?? 10_000);
const label = env.LABEL ?? 'publisher';
if (!env.DATABASE_URL || userIds.length === 0) {
  console.error('chaos-publisher needs DATABASE_URL and USER_IDS');
  process.exit(2);
}

const app = await startPublisherApp(env.DATABASE_URL, env.REDIS_URL ? { REDIS_URL: env.REDIS_URL } : {});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pick = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)];
let published = 0;
let retries = 0;
let n = 0;

async function worker(index: number, quota: number): Promise<void> {
  const start = Date.now();
  let done = 0;
  while (done < quota) {
    const size = Math.min(quota - done, 1 + Math.floor(Math.random() * 5));
    const drafts = Array.from({ length: size }, () => draft(pick(userIds), n++, `${label}/${index}`));
    for (;;) {
      try {
        if (index % 2 === 0) await app.publish(drafts);
        else await Promise.all(drafts.map((d) => app.publisher.send(d)));
        break;
      } catch {
        retries++;
        await sleep(50);
      }
    }
    done += size;
    published += size;
    // Keep to the schedule: progress proportional to elapsed time.
    const due = start + (durationMs * done) / quota;
    if (due > Date.now()) await sleep(due - Date.now());
  }
}

const share = Math.floor(count / workers);
await Promise.all(
  Array.from({ length: workers }, (_, i) => worker(i, i === workers - 1 ? count - share * (workers - 1) : share)),
);
await app.close();
console.log(JSON.stringify({ label, published, retries }));
process.exit(0);
