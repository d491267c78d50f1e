import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { NotificationRow } from '../src/notifications/notification.types.js';
import { IMMEDIATE_DROP_BYTES, SlowClientBudget, SLOW_GRACE_MS } from '../src/notifications/slow-client-budget.js';
import { StreamConnection } from '../src/notifications/stream-connection.js';
import { frameOf, type SseMessage } from '../src/notifications/stream-hub.js';

/** A socket that writes what the test says it wrote. */
class FakeSocket extends EventEmitter {
  bytesWritten = 1000;
  destroyed = false;
  cork() {}
  uncork() {}
}

const frame = (id: number, size = 100) => ({
  ...frameOf({
    id: String(id),
    user_id: '7',
    channel: 'order',
    type: 'order.shipped',
    severity: 'info',
    title: 't',
    body: 'b',
    data: {},
    audience_kind: null,
    audience_role: null,
    audience_user_ids: null,
    created_at: new Date(),
    expires_at: null,
    deliver: null,
  } as NotificationRow),
  size,
});

function open(slowClientBytes = 10_000) {
  const socket = new FakeSocket();
  const written: SseMessage[] = [];
  let completed = false;
  let destroyed = false;
  let drops = 0;
  const connection = new StreamConnection(
    { destroy: () => ((destroyed = true), undefined) } as never,
    socket as unknown as Socket,
    slowClientBytes,
    () => drops++,
  );
  const out = { next: (m: SseMessage) => void written.push(m), complete: () => void (completed = true) };
  const ids = () => written.map((m) => m.id ?? m.comment);
  const state = () => ({ completed, destroyed, drops });
  return { socket, connection, out, written, ids, state };
}

describe('StreamConnection', () => {
  it('ends for a shutdown with the retry it is given, under the id it has reached (never one Nest would make up)', () => {
    const { connection, out, written, state } = open();
    connection.start(out, { cursor: 10n, reset: null, replay: false, retryMs: 3000 });
    connection.receive(frame(12));
    connection.receive({ type: 'end', retryMs: 3456 });
    expect(written.slice(1).map((m) => [m.id, m.retry, m.type, m.data === undefined])).toStrictEqual([
      ['12', undefined, 'order', false],
      ['12', 3456, undefined, true],
    ]);
    expect(state().completed).toBe(true);
    connection.receive(frame(13)); // ended: nothing more
    expect(written.length).toBe(3);
  });

  it('holds live events until subscribed and through the replay, then writes each once past the cursor', () => {
    const { connection, out, ids } = open();
    connection.receive(frame(11)); // committed while the starting point was read
    connection.receive({ type: 'ping' }); // not subscribed yet: nowhere to go
    connection.start(out, { cursor: 10n, reset: null, replay: true, retryMs: 3000 });
    connection.receive(frame(13)); // live, during the replay
    connection.receive({ type: 'ping' }); // heartbeats pass during a replay
    connection.writeReplayed(frame(11));
    connection.writeReplayed(frame(12));
    connection.endReplay();
    connection.receive(frame(12)); // at or below the cursor: already written
    connection.receive(frame(14));
    expect(ids()).toStrictEqual(['10', 'ping', '11', '12', '13', '14']);
  });

  it('starts with ready (and reset), sends read at the cursor, and ends cleanly on end', () => {
    const { connection, out, written, state } = open();
    connection.start(out, { cursor: 5n, reset: 'history-truncated', replay: false, retryMs: 3000 });
    connection.receive(frame(6));
    connection.receive({ type: 'read', payload: { ids: ['6'] } });
    connection.receive({ type: 'end' });
    connection.receive(frame(7));
    expect(written.map((m) => [m.type, m.id, m.data])).toStrictEqual([
      ['ready', '5', '{"cursor":"5"}'],
      ['reset', '5', '{"reason":"history-truncated"}'],
      ['order', '6', written[2].data],
      ['read', '6', '{"ids":["6"]}'],
    ]);
    expect(written[0].retry).toBe(3000);
    expect(state()).toStrictEqual({ completed: true, destroyed: false, drops: 0 });
  });

  it('drops a client whose replay holds back too many live events', () => {
    const { connection, out, state } = open();
    connection.start(out, { cursor: 0n, reset: null, replay: true, retryMs: 0 });
    for (let id = 1; id <= 20_001; id++) connection.receive(frame(id));
    expect(state()).toStrictEqual({ completed: true, destroyed: true, drops: 1 });
  });
});

describe('SlowClientBudget', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('counts what was handed over minus what the socket wrote since the start', () => {
    const socket = { bytesWritten: 500 };
    const budget = new SlowClientBudget(socket, 1000, () => undefined);
    budget.add(300);
    socket.bytesWritten = 700;
    expect(budget.backlog).toBe(100);
  });

  it('gives a client over budget a grace period, and drops it only if it is still over after it', () => {
    const socket = { bytesWritten: 0 };
    let exceeded = 0;
    const budget = new SlowClientBudget(socket, 1000, () => exceeded++);
    budget.add(1500);
    socket.bytesWritten = 1000; // it caught up in time
    jest.advanceTimersByTime(SLOW_GRACE_MS);
    expect(exceeded).toBe(0);
    budget.add(1500);
    jest.advanceTimersByTime(SLOW_GRACE_MS - 1);
    expect(exceeded).toBe(0);
    jest.advanceTimersByTime(1);
    expect(exceeded).toBe(1);
  });

  it('drops at once past the immediate limit, and not after stop()', () => {
    let exceeded = 0;
    const budget = new SlowClientBudget({ bytesWritten: 0 }, 1000, () => exceeded++);
    budget.add(IMMEDIATE_DROP_BYTES + 1);
    expect(exceeded).toBe(1);
    const other = new SlowClientBudget({ bytesWritten: 0 }, 1000, () => exceeded++);
    other.add(2000);
    other.stop();
    jest.advanceTimersByTime(SLOW_GRACE_MS);
    expect(exceeded).toBe(1);
  });
});
