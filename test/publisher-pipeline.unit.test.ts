import { describe, expect, it } from '@jest/globals';
import type { DataSource } from 'typeorm';
import { MetricsService } from '../src/metrics/metrics.service.js';
import { NotificationActivity } from '../src/notifications/activity.js';
import type { BusRouter } from '../src/notifications/bus-router.js';
import type { NotificationBus } from '../src/notifications/bus/notification-bus.js';
import { NotificationPublisher } from '../src/notifications/notification.publisher.js';
import type { NotificationRow, PersonalDraft } from '../src/notifications/notification.types.js';

/**
 * Group commit's pipeline with the database played by hand: while one batch's statement runs,
 * sends queue; once it has committed, the next batch's statement goes to the database before
 * this batch's rows are handed to the feed (whose writes to the streams take about as long as
 * the statement itself), and the rows still go out in id order, then the callers hear.
 */
const draft = (i: number): PersonalDraft => ({
  userId: '1',
  channel: 'order',
  type: 'order.placed',
  severity: 'info',
  title: `#${i}`,
  body: '',
  data: {},
});

function harness() {
  const log: string[] = [];
  const statements: Array<{ resolve: (rows: unknown[]) => void; reject: (err: Error) => void; size: number }> = [];
  let nextId = 1;
  const db = {
    query: (_sql: string, params: unknown[]) =>
      new Promise((resolve, reject) => {
        const size = (params[0] as string[]).length;
        log.push(`statement of ${size}`);
        statements.push({ resolve, reject, size });
      }),
  } as unknown as DataSource;
  /** The oldest statement commits: its rows, as the insert answers them (in no particular order). */
  const commit = () => {
    const { resolve, size } = statements.shift()!;
    const rows = Array.from({ length: size }, () => ({ ...draft(0), id: String(nextId++), bus: null }));
    resolve(rows.reverse());
  };
  const fail = () => statements.shift()!.reject(new Error('connection lost'));
  const bus = {
    statementChannel: 'notifications_bus',
    messageSize: { chunkBytes: 6000, limitBytes: 7900 },
  } as unknown as NotificationBus;
  const router = {
    committingHere: (lo: number, hi: number) => log.push(`committed ${lo}-${hi}`),
    committedHere: (rows: NotificationRow[]) => log.push(`handed ${rows.map((r) => r.id).join(',')}`),
  } as unknown as BusRouter;
  const publisher = new NotificationPublisher(db, bus, router, new MetricsService(), new NotificationActivity());
  const send = (i: number) =>
    publisher.send(draft(i)).then(
      (row) => log.push(`sent #${i} as ${row.id}`),
      (err: Error) => log.push(`#${i} failed: ${err.message}`),
    );
  return { log, statements, commit, fail, send };
}

const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('NotificationPublisher group commit', () => {
  it('sends the next batch to the database before handing this one’s rows over, which go out in id order', async () => {
    const h = harness();
    const first = [1, 2, 3].map(h.send);
    await new Promise((resolve) => setTimeout(resolve, 20)); // the 2 ms window
    expect(h.log).toStrictEqual(['statement of 3']);
    const second = [4, 5].map(h.send); // while the first commits
    await settled();
    expect(h.log).toStrictEqual(['statement of 3']); // one batch in flight
    h.commit();
    await Promise.all(first);
    expect(h.log).toStrictEqual([
      'statement of 3',
      'committed 1-3', // the router drops its own message for these unparsed
      'statement of 2',
      'handed 1,2,3',
      'sent #1 as 1',
      'sent #2 as 2',
      'sent #3 as 3',
    ]);
    h.commit();
    await Promise.all(second);
    expect(h.log.slice(7)).toStrictEqual(['committed 4-5', 'handed 4,5', 'sent #4 as 4', 'sent #5 as 5']);
  });

  it('a batch that fails is refused to its callers, and the next one still goes', async () => {
    const h = harness();
    const first = [1, 2].map(h.send);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const second = [3].map(h.send);
    h.fail();
    await Promise.all(first);
    expect(h.log).toStrictEqual([
      'statement of 2',
      'statement of 1',
      ...[1, 2].map((i) => `#${i} failed: connection lost`),
    ]);
    h.commit();
    await Promise.all(second);
    expect(h.log.slice(4)).toStrictEqual(['committed 1-1', 'handed 1', 'sent #3 as 1']);
  });
});
