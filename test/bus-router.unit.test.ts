import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { Subject } from 'rxjs';
import type { DataSource } from 'typeorm';
import { SessionRevocations } from '../src/auth/session-revocations.js';
import type { AppConfig } from '../src/config/env.js';
import { MetricsService } from '../src/metrics/metrics.service.js';
import { BusRouter } from '../src/notifications/bus-router.js';
import { committedHeader } from '../src/notifications/bus/committed-message.js';
import type { BusMessage, NotificationBus } from '../src/notifications/bus/notification-bus.js';
import { NotificationFeed } from '../src/notifications/notification-feed.js';
import type { NotificationRow } from '../src/notifications/notification.types.js';
import type { StreamHub } from '../src/notifications/stream-hub.js';

/**
 * The router's decisions with no database: rows that come out of order (as
 * messages of several instances or channels do) are held and released in id
 * order; a gap that stays open past the reorder window, or a message without
 * rows, becomes one read of the table; nothing is dispatched twice. The table
 * is an array here; the real reads and messages are in feed-reads.e2e.
 */
const WINDOW_MS = 20;
const POLL_MS = 1000;
let table: NotificationRow[];
let dispatched: string[];
let reads: number;
let rowsRead: number;
let messages: Subject<BusMessage>;
let reconnected: Subject<void>;
let feed: NotificationFeed;
let router: BusRouter;

const row = (id: number): NotificationRow => ({
  id: String(id),
  user_id: '1',
  channel: 'order',
  type: 'order.placed',
  severity: 'info',
  title: `#${id}`,
  body: '',
  data: {},
  audience_kind: null,
  audience_role: null,
  audience_user_ids: null,
  created_at: new Date(0),
  expires_at: null,
  deliver: null,
  actions: null,
  translations: null,
});
const rows = (...ids: number[]) => ids.map(row);
/** Committed rows: in the table, and handed to the router as a local commit (or a bus message) would. */
const commit = (...ids: number[]) => {
  table.push(...rows(...ids));
  return rows(...ids);
};

beforeEach(async () => {
  jest.useFakeTimers();
  table = [];
  dispatched = [];
  reads = 0;
  rowsRead = 0;
  messages = new Subject();
  reconnected = new Subject();
  const db = {
    query: async (sql: string, params: [number, string | number]) => {
      if (sql.includes('max(id)')) return [{ max: '0' }];
      reads++;
      const [after, through] = params.map(Number);
      const found = table.filter((r) => Number(r.id) > after && Number(r.id) <= through).slice(0, 1000); // in id (= commit) order
      rowsRead += found.length;
      return found;
    },
  } as unknown as DataSource;
  const hub = { dispatch: (r: NotificationRow) => dispatched.push(r.id) } as unknown as StreamHub;
  feed = new NotificationFeed(db, hub, { feedPollMs: POLL_MS } as AppConfig, new MetricsService());
  await feed.onApplicationBootstrap();
  const bus = {
    messages$: messages,
    reconnected$: reconnected,
    reorderWindowMs: WINDOW_MS,
    send: async () => undefined,
  } as unknown as NotificationBus;
  router = new BusRouter(feed, hub, bus, new SessionRevocations());
  router.onApplicationBootstrap();
});

afterEach(() => {
  router.onModuleDestroy();
  feed.onModuleDestroy();
  jest.useRealTimers();
});

describe('BusRouter', () => {
  it('holds rows that come after a gap and releases them in id order when the missing ones arrive', async () => {
    const later = commit(3, 4);
    const earlier = commit(1, 2);
    router.committedHere(later);
    expect(dispatched).toStrictEqual([]);
    router.committedHere(earlier);
    expect(dispatched).toStrictEqual(['1', '2', '3', '4']);
    await jest.advanceTimersByTimeAsync(WINDOW_MS * 2);
    expect(reads).toBe(0);
  });

  it('reads a gap still open after the reorder window, once, and what was held follows without repeats', async () => {
    commit(1); // committed, but no message will ever say so
    const [second, third, fourth] = [commit(2, 3), commit(4), commit(5)];
    router.committedHere(second);
    router.committedHere(fourth); // overtakes the third (another channel, another instance)
    router.committedHere(third);
    await jest.advanceTimersByTimeAsync(WINDOW_MS - 1);
    expect(dispatched).toStrictEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(dispatched).toStrictEqual(['1', '2', '3', '4', '5']);
    expect([reads, rowsRead]).toStrictEqual([1, 1]); // only the missing id is read
    router.committedHere(rows(2, 3)); // a late or repeated message
    messages.next({ t: 'committed', upTo: '5' });
    await jest.advanceTimersByTimeAsync(WINDOW_MS * 2);
    expect(dispatched).toStrictEqual(['1', '2', '3', '4', '5']);
    expect(reads).toBe(1);
  });

  it('reads past ids that never committed (a rolled-back transaction drew them) once, then goes on', async () => {
    router.committedHere(commit(1));
    router.committedHere(commit(4, 5)); // 2 and 3 were drawn, then rolled back
    await jest.advanceTimersByTimeAsync(WINDOW_MS);
    expect(dispatched).toStrictEqual(['1', '4', '5']);
    expect([reads, rowsRead]).toStrictEqual([1, 0]);
    router.committedHere(commit(6));
    await jest.advanceTimersByTimeAsync(WINDOW_MS * 2);
    expect(dispatched).toStrictEqual(['1', '4', '5', '6']);
    expect(reads).toBe(1);
  });

  it('holds at most 10,000 rows behind a gap: more are dropped and read with it, once', async () => {
    commit(1); // its message is late
    const many = commit(...Array.from({ length: 10_001 }, (_, i) => i + 2));
    router.committedHere(many);
    await jest.advanceTimersByTimeAsync(WINDOW_MS);
    expect(dispatched.length).toBe(10_002);
    expect(dispatched.at(-1)).toBe('10002');
    expect(rowsRead).toBe(10_002);
  });

  it('reads for a message without rows, unless the rows come first within the window (this instance’s own commit)', async () => {
    messages.next({ t: 'committed', upTo: '2' });
    router.committedHere(commit(1, 2));
    await jest.advanceTimersByTimeAsync(WINDOW_MS * 2);
    expect(reads).toBe(0);
    commit(3, 4);
    messages.next({ t: 'committed', upTo: '4' });
    await jest.advanceTimersByTimeAsync(WINDOW_MS);
    expect(dispatched).toStrictEqual(['1', '2', '3', '4']);
    expect(reads).toBe(1);
  });

  it('polls the table only after standing still for a whole interval (a moving feed has no gap behind it)', async () => {
    router.committedHere(commit(1));
    await jest.advanceTimersByTimeAsync(POLL_MS); // moved since the start: no read
    expect(reads).toBe(0);
    commit(2); // its message is lost, and nothing follows
    router.committedHere(rows(1)); // a repeat moves nothing
    await jest.advanceTimersByTimeAsync(POLL_MS + 1); // the read goes after the waiting I/O (setImmediate)
    expect(dispatched).toStrictEqual(['1', '2']);
    expect(reads).toBe(1);
  });

  it('parses the rows of a message off the wire only when the feed needs them; one whose rows are not JSON is ignored', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    // A row as committedMessagesSql writes it: its columns in the driver's text form.
    const wire = (id: number) =>
      JSON.stringify([`${id}`, '1', 'order', 'order.placed', 'info', `#${id}`, '', {}, null, null, null,
        '1970-01-01 00:00:00+00', null, null, null, null]); // prettier-ignore
    const received = (payload: string) => messages.next(committedHeader(payload)!);
    commit(1, 2);
    received(`{"t":"committed","upTo":"2","rows":[${wire(1)},${wire(2)}]}`);
    expect(dispatched).toStrictEqual(['1', '2']);
    received('{"t":"committed","upTo":"2","rows":[not JSON'); // seen already: not even parsed
    expect(warn).not.toHaveBeenCalled();
    commit(3);
    received('{"t":"committed","upTo":"3","rows":[not JSON');
    expect(warn).toHaveBeenCalledWith('Ignored a malformed bus message');
    await jest.advanceTimersByTimeAsync(WINDOW_MS * 2);
    expect(dispatched).toStrictEqual(['1', '2']); // a later message's gap, or the poll, finds 3
    expect(reads).toBe(0);
    // Ids this instance committed and is about to hand over: their message is not parsed either.
    commit(4, 5);
    router.committingHere(4, 5);
    received('{"t":"committed","upTo":"5","rows":[not JSON');
    expect(warn).toHaveBeenCalledTimes(1);
    router.committedHere(rows(4, 5));
    await jest.advanceTimersByTimeAsync(WINDOW_MS); // 3 is missing: read after the window
    expect(dispatched).toStrictEqual(['1', '2', '3', '4', '5']);
    expect(committedHeader('{"t":"read","userId":"1","all":true}')).toBeNull();
    expect(committedHeader('{"t":"committed","upTo":"12x"}')).toBeNull();
    warn.mockRestore();
  });

  it('after a bus reconnect, reads what may have been missed', async () => {
    commit(1, 2);
    reconnected.next();
    await jest.advanceTimersByTimeAsync(0);
    expect(dispatched).toStrictEqual(['1', '2']);
    expect(reads).toBe(1);
  });
});
