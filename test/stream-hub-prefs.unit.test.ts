import { afterEach, describe, expect, it } from '@jest/globals';
import type { AppConfig } from '../src/config/env.js';
import { MetricsService } from '../src/metrics/metrics.service.js';
import type { EscalationPort } from '../src/notifications/escalation-port.js';
import type { Channel, NotificationRow } from '../src/notifications/notification.types.js';
import { type Frame, StreamHub } from '../src/notifications/stream-hub.js';

/**
 * The hub's side of an open's preferences (stream-prefs-window.e2e.test.ts has the open's):
 * what an open read at prefsGeneration g becomes the route's, mutes and locale each, unless a
 * change applied to the route after g is newer.
 */
const CHANNELS: Channel[] = ['order', 'payment', 'system'];
const viewer = (locale: string) => ({ id: '7', role: 'user' as const, createdAt: new Date(0), locale });

const hubs: StreamHub[] = [];
// Stops each hub's heartbeat timer.
afterEach(() => hubs.splice(0).forEach((h) => h.onModuleDestroy()));

function hubWithStream() {
  const escalation = { streamed: () => undefined } as unknown as EscalationPort;
  const hub = new StreamHub({ stream: { heartbeatMs: 60_000 } } as AppConfig, new MetricsService(), escalation);
  hubs.push(hub);
  const received: string[] = [];
  const open = (locale: string, muted: Channel[], readAt: number) => {
    const handle = hub.register(viewer(locale), 's', CHANNELS, muted, readAt);
    handle.receive = (e) => {
      if ('message' in e) received.push(`${e.channel}:${JSON.parse((e as Frame).message.data!).title as string}`);
    };
    return handle;
  };
  const row = (channel: Channel, userId: string | null): NotificationRow => ({
    id: String(received.length + 1),
    user_id: userId,
    channel,
    type: 'x',
    severity: 'info',
    title: 'Hello',
    body: '',
    data: {},
    audience_kind: userId === null ? 'all' : null,
    audience_role: null,
    audience_user_ids: null,
    created_at: new Date(),
    expires_at: null,
    deliver: null,
    actions: null,
    translations: userId === null ? { de: { title: 'Hallo', body: '' } } : null,
  });
  /** What the user's streams receive of an order notification and a broadcast. */
  const probe = () => {
    received.length = 0;
    hub.dispatch(row('order', '7'));
    hub.dispatch(row('system', null));
    return [...received];
  };
  return { hub, open, probe };
}

describe('an open’s preferences in the hub', () => {
  it('with no change since its read, the open’s mutes and locale become the route’s, and the generation stays', () => {
    const { hub, open, probe } = hubWithStream();
    const g = hub.prefsGeneration;
    open('de', ['order'], g);
    expect(probe()).toStrictEqual(['system:Hallo']);
    hub.refresh(viewer('en'), [], g);
    expect(probe()).toStrictEqual(['order:Hello', 'system:Hello']);
    expect(hub.prefsGeneration).toBe(g);
  });

  it('a change applied after its read stays: a second stream registered with the older read does not undo it', () => {
    const { hub, open, probe } = hubWithStream();
    const read = hub.prefsGeneration;
    open('en', ['order'], read);
    hub.setMuted('7', []);
    hub.setLocale('7', 'de');
    expect(hub.prefsGeneration).toBeGreaterThan(read);
    open('en', ['order'], read);
    expect(probe()).toStrictEqual(['order:Hello', 'order:Hello', 'system:Hallo', 'system:Hallo']);
  });

  it('mutes and locale are kept apart: a mute during a re-read keeps the mutes, the re-read’s locale is taken', () => {
    const { hub, open, probe } = hubWithStream();
    open('en', [], hub.prefsGeneration);
    const readAt = hub.prefsGeneration;
    hub.setMuted('7', ['order']);
    hub.refresh(viewer('de'), [], readAt);
    expect(probe()).toStrictEqual(['system:Hallo']);
  });
});
