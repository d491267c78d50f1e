import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { freshDatabase } from './support/app.js';
import { rollingRestart } from './support/rolling-restart.js';

/**
 * Issue 24, "Beyond one machine": a rolling restart of every instance behind the shipped nginx,
 * one at a time, while clients stream and orders are placed, loses nothing and duplicates nothing
 * for any client, and no client sees an error status (no stream answer but 200, no order answered
 * 502). Runs where nginx is installed, always under CI=true.
 *
 * STREAMS: the 200 (the storm a restart causes grows with it); on the 2-core CI machine,
 * shared with the rest of the suite, three instances, nginx and Postgres take them with room to
 * spare, and the run stays near a minute. Lower it, not the rate, if a machine cannot.
 */
const INSTANCES = 3;
const USERS = 50;
const STREAMS = 200;
const ORDERS_PER_SECOND = 20;
const RETRY_MS = 3000; // the default RETRY_MS: the storm follows it

let db: { url: string; drop: () => Promise<void> };

beforeAll(async () => {
  db = await freshDatabase();
});

afterAll(async () => {
  await db?.drop();
});

describe('rolling restart under load behind nginx', () => {
  it(`restarts ${INSTANCES} instances in turn with ${STREAMS} streams open and ${ORDERS_PER_SECOND} orders/s: nothing lost, duplicated or refused`, async () => {
    const report = await rollingRestart({
      databaseUrl: db.url,
      instances: INSTANCES,
      users: USERS,
      streams: STREAMS,
      ordersPerSecond: ORDERS_PER_SECOND,
      settleMs: 2000,
      log: (line) => console.log(`# ${line}`),
    });
    console.log(`# rolling restart: ${JSON.stringify({ ...report, storms: undefined, nginxProblems: undefined })}`);
    // What nginx saw go wrong (refused connects while an instance is down are expected there).
    console.log(`# nginx:\n${report.nginxProblems.join('\n')}`);

    // Every order was answered 201 through nginx: none reset into a 502 by a stopping instance.
    expect(report.orderAnswers).toStrictEqual({ '201': report.orders });
    expect(report.orders).toBeGreaterThan(ORDERS_PER_SECOND * 10);
    // Every stream answer was a 200, and every stream got exactly its user's committed ids, in order.
    expect(report.streamProblems).toStrictEqual([]);
    expect([report.lost, report.duplicated, report.outOfOrder, report.mismatched]).toStrictEqual([0, 0, 0, 0]);

    expect(report.storms.map((s) => [s.instance, s.exit])).toStrictEqual(
      Array.from({ length: INSTANCES }, (_, i) => [`app${i + 1}`, { code: 0, signal: null }]),
    );
    for (const storm of report.storms) {
      // Its streams moved (to the instances still up: least_conn spreads them),
      expect(storm.moved).toBeGreaterThan(0);
      // none before the retry it was told (RETRY_MS plus its spread: StreamHub.endAllSpread), and all
      // back within the retry, the spread (a second at these numbers) and a margin for a loaded machine
      // (the last one back took 4–20 s on the 2-core machine at load averages of 19–30).
      expect(storm.firstReconnectMs).toBeGreaterThanOrEqual(RETRY_MS);
      expect(storm.allReconnectedMs).toBeLessThan(RETRY_MS + 1000 + 30_000);
    }
    // 60–140 s on the 2-core machine; its restarts wait for a loaded machine rather than fail.
  }, 600_000);
});
