import { describe, expect, it } from '@jest/globals';
import { StreamHub } from '../src/notifications/stream-hub.js';
import { StreamService } from '../src/notifications/stream.service.js';
import { sharedTestApp } from './support/app.js';
import { heldOpen } from './support/held-open.js';
import { Client } from './support/http.js';
import { broadcast, publishTo } from './support/publish.js';
import { openStream, type SseConnection } from './support/sse.js';

/**
 * An open reads the user's muted channels and locale in its lookup, before the
 * stream is registered with the hub. A preference change that reaches the hub
 * in between must not be undone by the registration: the stream (and the
 * user's other streams) follow the newest preferences.
 */
describe('a preference change between a stream’s lookup and its registration', () => {
  const t = sharedTestApp();

  /** Resolves once the hub has applied the user's change as the bus delivers it (muted, then locale). */
  function appliedByBus(userId: string): Promise<void> {
    const hub = t.app.get(StreamHub);
    const setMuted = hub.setMuted.bind(hub);
    return new Promise((resolve) => {
      hub.setMuted = (id, muted) => {
        setMuted(id, muted);
        if (id !== userId) return;
        hub.setMuted = setMuted;
        // The bus handler sets the locale right after the mutes, in the same turn.
        setImmediate(resolve);
      };
    });
  }

  const titles = (s: SseConnection) => s.notifications.map((e) => JSON.parse(e.data).title as string);

  /** An open of `c`'s held between its lookup and its registration while `change` is saved and reaches the hub; then ready. */
  async function openAcross(c: Client, userId: string, change: object): Promise<SseConnection> {
    const { opening, release } = await heldOpen(t, c.cookieHeader);
    const applied = appliedByBus(userId);
    expect((await c.put('/preferences', change)).status).toBe(200);
    await applied;
    release();
    const s = await opening;
    await s.waitForEvent('ready');
    return s;
  }

  /** An order, then a payment notification to the user, once each of `streams` has the payment. */
  async function orderThenPayment(userId: string, ...streams: SseConnection[]): Promise<void> {
    await publishTo(t, userId, { channel: 'order', title: 'order' });
    await publishTo(t, userId, { channel: 'payment', title: 'payment' });
    for (const s of streams) await s.until(() => titles(s).includes('payment'), 'the payment notification');
  }

  it('unmuted in another tab: the new stream and the open one receive the channel', async () => {
    const c = new Client(t.baseUrl);
    const { id } = await c.signUp('prefs-window-unmute@example.com');
    expect((await c.put('/preferences', { channels: { order: false } })).status).toBe(200);
    const first = await openStream(t.baseUrl, c.cookieHeader);
    await first.waitForEvent('ready');
    const s = await openAcross(c, id, { channels: { order: true } });
    await orderThenPayment(id, s, first);
    expect([titles(s), titles(first)]).toStrictEqual([
      ['order', 'payment'],
      ['order', 'payment'],
    ]);
    s.close();
    first.close();
  });

  /** Resolves once the hub has dispatched a notification to the user with this title. */
  function dispatched(userId: string, title: string): Promise<void> {
    const hub = t.app.get(StreamHub);
    const dispatch = hub.dispatch.bind(hub);
    return new Promise((resolve) => {
      hub.dispatch = (row) => {
        dispatch(row);
        if (String(row.user_id) !== userId || row.title !== title) return;
        hub.dispatch = dispatch;
        resolve();
      };
    });
  }

  it('unmuted, and an order dispatched while the open reads its preferences again: the new stream receives it', async () => {
    const c = new Client(t.baseUrl);
    const { id } = await c.signUp('prefs-window-reread@example.com');
    expect((await c.put('/preferences', { channels: { order: false } })).status).toBe(200);
    // The open reads again after its registration (a change reached the hub in between). An
    // order committed after that read's snapshot reaches the hub before the open applies
    // what it read, while the stream still holds the mutes of its first read.
    const starts = (t.app.get(StreamService) as unknown as { starts: { load(key: string): Promise<unknown> } }).starts;
    const load = starts.load.bind(starts);
    starts.load = async (key) => {
      starts.load = load;
      const start = await load(key);
      const reached = dispatched(id, 'order');
      await publishTo(t, id, { channel: 'order', title: 'order' });
      await reached;
      return start;
    };
    const s = await openAcross(c, id, { channels: { order: true } });
    await orderThenPayment(id, s);
    expect(titles(s)).toStrictEqual(['order', 'order', 'payment']);
    s.close();
  });

  it('muted meanwhile: the new stream does not receive the channel', async () => {
    const c = new Client(t.baseUrl);
    const { id } = await c.signUp('prefs-window-mute@example.com');
    const s = await openAcross(c, id, { channels: { order: false } });
    await orderThenPayment(id, s);
    expect(titles(s)).toStrictEqual(['payment']);
    s.close();
  });

  it('a language change meanwhile: the new stream shows broadcasts in the new language', async () => {
    const c = new Client(t.baseUrl);
    const { id } = await c.signUp('prefs-window-locale@example.com');
    const s = await openAcross(c, id, { locale: 'de' });
    await broadcast(
      t,
      { kind: 'users', userIds: [id] },
      { title: 'Maintenance tonight', translations: { de: { title: 'Wartung heute Nacht', body: 'Von 2 bis 3.' } } },
    );
    await s.waitForNotifications(1);
    expect(titles(s)).toStrictEqual(['Wartung heute Nacht']);
    s.close();
  });
});
