import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { StreamHub } from '../src/notifications/stream-hub.js';
import { startTestApp, type TestApp } from './support/app.js';
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
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

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

  it('unmuted in another tab: the new stream and the open one receive the channel', async () => {
    const c = new Client(t.baseUrl);
    const { id } = await c.signUp('prefs-window-unmute@example.com');
    expect((await c.put('/preferences', { channels: { order: false } })).status).toBe(200);
    const first = await openStream(t.baseUrl, c.cookieHeader);
    await first.waitForEvent('ready');
    const { opening, release } = await heldOpen(t, c.cookieHeader);
    const applied = appliedByBus(id);
    expect((await c.put('/preferences', { channels: { order: true } })).status).toBe(200);
    await applied;
    release();
    const s = await opening;
    await s.waitForEvent('ready');
    await publishTo(t, id, { channel: 'order', title: 'order' });
    await publishTo(t, id, { channel: 'payment', title: 'payment' });
    await s.until(() => titles(s).includes('payment'), 'the payment notification');
    await first.until(() => titles(first).includes('payment'), 'the payment notification');
    expect([titles(s), titles(first)]).toStrictEqual([
      ['order', 'payment'],
      ['order', 'payment'],
    ]);
    s.close();
    first.close();
  });

  it('muted meanwhile: the new stream does not receive the channel', async () => {
    const c = new Client(t.baseUrl);
    const { id } = await c.signUp('prefs-window-mute@example.com');
    const { opening, release } = await heldOpen(t, c.cookieHeader);
    const applied = appliedByBus(id);
    expect((await c.put('/preferences', { channels: { order: false } })).status).toBe(200);
    await applied;
    release();
    const s = await opening;
    await s.waitForEvent('ready');
    await publishTo(t, id, { channel: 'order', title: 'order' });
    await publishTo(t, id, { channel: 'payment', title: 'payment' });
    await s.until(() => titles(s).includes('payment'), 'the payment notification');
    expect(titles(s)).toStrictEqual(['payment']);
    s.close();
  });

  it('a language change meanwhile: the new stream shows broadcasts in the new language', async () => {
    const c = new Client(t.baseUrl);
    const { id } = await c.signUp('prefs-window-locale@example.com');
    const { opening, release } = await heldOpen(t, c.cookieHeader);
    const applied = appliedByBus(id);
    expect((await c.put('/preferences', { locale: 'de' })).status).toBe(200);
    await applied;
    release();
    const s = await opening;
    await s.waitForEvent('ready');
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
