import { describe, expect, it } from '@jest/globals';
import {
  CHANNELS as CLIENT_CHANNELS,
  Inbox,
  perKey,
  NotificationStream,
  backoffDelay,
  compareIds,
  streamUrl,
  type NotificationJson,
  type NotificationsApi,
  type RawEvent,
  type StateChange,
  type Transport,
  type TransportEnd,
  type TransportHandlers,
} from '../client/node.js';
import { CHANNELS as SERVER_CHANNELS } from '../src/notifications/notification.types.js';
import { NO_UNREAD } from './support/registry.js';

/** Pure parts of the client, with no server: backoff, the stream engine over a scripted transport, the inbox model. */

describe('backoffDelay', () => {
  it('never goes under the server retry, doubles per attempt, and stays within the cap', () => {
    for (const r of [0, 0.25, 0.5, 0.999]) {
      const random = () => r;
      expect(
        backoffDelay(0, 3000, 30_000, random) >= 3000 && backoffDelay(0, 3000, 30_000, random) <= 6000,
      ).toBeTruthy();
      expect(
        backoffDelay(2, 3000, 30_000, random) >= 12_000 && backoffDelay(2, 3000, 30_000, random) <= 24_000,
      ).toBeTruthy();
      for (const attempt of [4, 10, 60]) {
        const d = backoffDelay(attempt, 3000, 30_000, random);
        expect(d >= 15_000 && d <= 30_000).toBeTruthy(); // `attempt ${attempt}: ${d}`
      }
    }
  });

  it('spreads clients with jitter', () => {
    expect(backoffDelay(0, 1000, 30_000, () => 0)).not.toBe(backoffDelay(0, 1000, 30_000, () => 0.9));
    expect(backoffDelay(9, 1000, 30_000, () => 0)).not.toBe(backoffDelay(9, 1000, 30_000, () => 0.9));
  });

  it('honours a server retry above the cap', () => {
    expect(backoffDelay(5, 60_000, 30_000, () => 0)).toBe(60_000);
  });
});

describe('shared types', () => {
  it('the client lists the same channels as the server', () => {
    expect([...CLIENT_CHANNELS]).toStrictEqual([...SERVER_CHANNELS]);
  });

  it('ids compare as numbers, beyond 2^53', () => {
    expect(compareIds('9', '10') < 0).toBeTruthy();
    expect(compareIds('9223372036854775807', '9223372036854775806') > 0).toBeTruthy();
    expect(compareIds('42', '42')).toBe(0);
  });

  it('narrows the stream URL only when asked for fewer channels', () => {
    expect(streamUrl('http://x/')).toBe('http://x/notifications/stream');
    expect(streamUrl('', CLIENT_CHANNELS)).toBe('/notifications/stream');
    expect(streamUrl('', ['payment', 'order'])).toBe('/notifications/stream?channels=payment,order');
  });
});

/** A transport the test drives by hand. */
class ScriptedTransport implements Transport {
  connections: Array<{ lastEventId: string | null; handlers: TransportHandlers; closed: boolean }> = [];
  connect(request: { lastEventId: string | null }, handlers: TransportHandlers) {
    const c = { lastEventId: request.lastEventId, handlers, closed: false };
    this.connections.push(c);
    return { close: () => void (c.closed = true) };
  }
  get last() {
    return this.connections[this.connections.length - 1];
  }
  send(event: string, id: string | undefined, data: unknown) {
    this.last.handlers.event({ event, id, data: JSON.stringify(data) } satisfies RawEvent);
  }
  end(how: TransportEnd) {
    this.last.handlers.end(how);
  }
}

const note = (
  id: string,
  channel: NotificationJson['channel'] = 'order',
  readAt: string | null = null,
): NotificationJson => ({
  id,
  channel,
  type: `${channel}.test`,
  severity: 'info',
  title: `n${id}`,
  body: '',
  data: {},
  createdAt: '2026-01-01T00:00:00.000Z',
  readAt,
  seenAt: null,
  archivedAt: null,
  snoozedUntil: null,
  actions: [],
});

describe('NotificationStream (scripted transport)', () => {
  it('emits typed events, follows ids, and resumes from the last one', async () => {
    const transport = new ScriptedTransport();
    const stream = new NotificationStream({ transport, retryMs: 5, random: () => 0 });
    const got: string[] = [];
    const states: StateChange[] = [];
    stream.on('ready', (r) => got.push(`ready ${r.cursor}`));
    stream.on('order', (n) => got.push(`order ${n.id} ${n.title}`));
    stream.on('payment', (n) => got.push(`payment ${n.id}`));
    stream.on('read', (r) => got.push(`read ${JSON.stringify(r)}`));
    stream.on('state', (s) => states.push(s));
    expect(transport.last.lastEventId).toBe(null);

    transport.last.handlers.retry(7);
    transport.send('ready', '10', { cursor: '10' });
    transport.send('order', '11', note('11'));
    transport.send('surprise', '11', { future: true }); // unknown: ignored
    transport.last.handlers.event({ event: 'payment', id: '12', data: 'not json' }); // position kept, not emitted
    transport.send('read', '12', { ids: ['11'] });
    expect(got).toStrictEqual(['ready 10', 'order 11 n11', `read {"ids":["11"]}`]);
    expect(stream.state).toBe('live');
    expect(stream.lastEventId).toBe('12');

    transport.end({ kind: 'ended' });
    expect(stream.state).toBe('reconnecting');
    expect(states.at(-1)!.retryInMs).toBe(7); // the server's retry: is the base delay
    await new Promise((r) => setTimeout(r, 20));
    expect(transport.connections.length).toBe(2);
    expect(transport.last.lastEventId).toBe('12');
    stream.close();
  });

  it('closes on unauthorized and makes no further attempt', async () => {
    const transport = new ScriptedTransport();
    const stream = new NotificationStream({ transport, retryMs: 1 });
    transport.end({ kind: 'unauthorized' });
    expect(stream.state).toBe('closed');
    await new Promise((r) => setTimeout(r, 20));
    expect(transport.connections.length).toBe(1);
    stream.restart();
    expect(transport.connections.length).toBe(2); // restart() tries again (after signing in)
    expect(stream.state).toBe('connecting');
    stream.close();
  });

  it('ignores a connection it has abandoned', () => {
    const transport = new ScriptedTransport();
    const stream = new NotificationStream({ transport });
    const old = transport.last;
    stream.restart({ fresh: true });
    expect(old.closed).toBeTruthy();
    old.handlers.event({ event: 'ready', id: '5', data: '{"cursor":"5"}' });
    old.handlers.end({ kind: 'unauthorized' });
    expect(stream.state).toBe('connecting');
    expect(stream.lastEventId).toBe(null);
    stream.close();
  });
});

/** The inbox over a fake source and an in-memory API. */
function fakeInbox(items: NotificationJson[]) {
  const transport = new ScriptedTransport();
  const source = new NotificationStream({ transport, retryMs: 1, random: () => 0 });
  const server = { items: items.map((n) => ({ ...n })), lists: 0 };
  const counts = () => {
    const byChannel = perKey(CLIENT_CHANNELS, () => 0);
    for (const n of server.items) if (n.readAt === null) byChannel[n.channel]++;
    return { total: CLIENT_CHANNELS.reduce((sum, c) => sum + byChannel[c], 0), byChannel };
  };
  const api = {
    list: async () => (
      server.lists++,
      { items: [...server.items].sort((a, b) => compareIds(b.id, a.id)).map((n) => ({ ...n })), nextBefore: null }
    ),
    unreadCount: async () => counts(),
    markRead: async (id: string) => void (server.items.find((n) => n.id === id)!.readAt = 'now'),
    markAllRead: async () => server.items.forEach((n) => (n.readAt ??= 'now')),
  } as unknown as NotificationsApi;
  return { inbox: new Inbox(source, api), transport, server, source };
}

const settle = () => new Promise((r) => setTimeout(r, 5));

describe('Inbox', () => {
  it('loads on live, adds streamed notifications once, and keeps counts', async () => {
    const { inbox, transport, server, source } = fakeInbox([note('1'), note('2', 'payment', 'x')]);
    transport.send('ready', '2', { cursor: '2' });
    await settle();
    expect(inbox.items.map((n) => n.id)).toStrictEqual(['2', '1']);
    expect(inbox.counts).toStrictEqual({ total: 1, byChannel: { ...NO_UNREAD, order: 1 } });

    const before = inbox.getSnapshot();
    expect(inbox.getSnapshot()).toBe(before); // the same snapshot while nothing changes (useSyncExternalStore)
    server.items.push(note('3', 'system'));
    transport.send('system', '3', note('3', 'system'));
    expect(inbox.getSnapshot()).not.toBe(before);
    expect(inbox.getSnapshot().items.map((n) => n.id)).toStrictEqual(['3', '2', '1']);
    transport.send('system', '3', note('3', 'system')); // a duplicate changes nothing
    expect(inbox.items.map((n) => n.id)).toStrictEqual(['3', '2', '1']);
    expect(inbox.counts.byChannel).toStrictEqual({ ...NO_UNREAD, order: 1, system: 1 });
    expect(inbox.counts.total).toBe(2);

    transport.send('read', '3', { ids: ['1'] }); // marked in another tab
    expect(inbox.items.find((n) => n.id === '1')!.readAt !== null).toBe(true);
    expect(inbox.counts.byChannel).toStrictEqual({ ...NO_UNREAD, system: 1 });

    await inbox.markAllRead();
    await settle();
    expect(inbox.counts.total).toBe(0);
    expect(inbox.items.every((n) => n.readAt !== null)).toBeTruthy();
    source.close();
  });

  it('settles counts with the server after events that raced a load', async () => {
    const { inbox, transport, server, source } = fakeInbox([note('1')]);
    // The list query ran before n2 committed, the count query after it.
    const api = inbox.api as unknown as { list: () => Promise<unknown>; unreadCount: () => Promise<unknown> };
    const { list, unreadCount } = api;
    let listed!: () => void;
    const listDone = new Promise<void>((resolve) => (listed = resolve));
    api.list = async () => {
      const page = await list();
      server.items.push(note('2'));
      listed();
      return page;
    };
    api.unreadCount = async () => (await listDone, unreadCount());
    transport.send('ready', '1', { cursor: '1' });
    await settle();
    expect(inbox.items.map((n) => n.id)).toStrictEqual(['1']);
    expect(inbox.counts.total).toBe(2);
    transport.send('order', '2', note('2')); // not in the list: counted once more, for now
    expect(inbox.counts.total).toBe(3);
    for (let i = 0; i < 200 && inbox.counts.total !== 2; i++) await settle();
    expect(inbox.counts.total).toBe(2); // the server's count wins once the events settle
    inbox.dispose();
    source.close();
  });

  it('reloads on reset and after a reconnect', async () => {
    const { inbox, transport, server, source } = fakeInbox([note('1')]);
    transport.send('ready', '1', { cursor: '1' });
    await settle();
    const loads = server.lists;
    server.items[0].readAt = 'elsewhere'; // read while we were away: no event will say so
    transport.end({ kind: 'ended' });
    for (let i = 0; i < 100 && transport.connections.length < 2; i++) await settle();
    expect(transport.connections.length).toBe(2);
    expect(transport.last.lastEventId).toBe('1');
    transport.send('ready', '1', { cursor: '1' });
    await settle();
    expect(server.lists).toBe(loads + 1);
    expect(inbox.counts.total).toBe(0);
    transport.send('reset', '1', { reason: 'history-truncated' });
    await settle();
    expect(server.lists).toBe(loads + 2);
    source.close();
  });
});
