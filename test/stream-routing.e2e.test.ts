import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { NotificationPublisher } from '../src/notifications/notification.publisher.js';
import type { Channel, PersonalDraft } from '../src/notifications/notification.types.js';
import { Client } from './support/http.js';
import { startTestApp, type TestApp } from './support/app.js';
import { openStream } from './support/sse.js';

/**
 * The hub routes each frame to a stream through one Subject per stream,
 * filtering by the stream's channels itself (the bench's hot-path change):
 * these check that the filter, the order of notifications and control events,
 * and the replay/live seam are what they were with one Subject per channel.
 */
let t: TestApp;
let publisher: NotificationPublisher;
beforeAll(async () => {
  t = await startTestApp();
  publisher = t.app.get(NotificationPublisher);
});
afterAll(async () => {
  await t.close();
});

const draft = (userId: string, channel: Channel, title: string): PersonalDraft => ({
  userId,
  channel,
  type: `${channel}.test`,
  severity: 'info',
  title,
  body: '',
  data: {},
});

describe('stream routing', () => {
  it('a stream gets exactly its channels, in id order; read events keep the cursor', async () => {
    const alice = new Client(t.baseUrl);
    const me = await alice.signUp('routing-alice@example.com');
    const onlyOrders = await openStream(t.baseUrl, alice.cookieHeader, { channels: 'order' });
    const all = await openStream(t.baseUrl, alice.cookieHeader);
    await onlyOrders.waitForEvent('ready');
    await all.waitForEvent('ready');

    const rows = [];
    for (const c of ['order', 'payment', 'system', 'order'] as Channel[])
      rows.push(await publisher.send(draft(me.id, c, `to ${c}`)));
    await all.waitForNotifications(4);
    await onlyOrders.waitForNotifications(2);
    expect(all.notifications.map((e) => [e.event, e.id])).toStrictEqual(rows.map((r) => [r.channel, String(r.id)]));
    expect(onlyOrders.notifications.map((e) => e.id)).toStrictEqual(
      rows.filter((r) => r.channel === 'order').map((r) => String(r.id)),
    );

    const read = await alice.post(`/notifications/${rows[1].id}/read`);
    expect(read.status).toBe(204);
    const ev = await all.waitForEvent('read');
    expect(JSON.parse(ev.data)).toStrictEqual({ ids: [String(rows[1].id)] });
    expect(ev.id).toBe(String(rows[3].id));
    const ev2 = await onlyOrders.waitForEvent('read');
    expect(ev2.id).toBe(String(rows[3].id));
    all.close();
    onlyOrders.close();
  });

  it('another user never receives them', async () => {
    const alice = new Client(t.baseUrl);
    const bob = new Client(t.baseUrl);
    const a = await alice.signUp('routing-a2@example.com');
    const b = await bob.signUp('routing-b2@example.com');
    const bobStream = await openStream(t.baseUrl, bob.cookieHeader);
    await bobStream.waitForEvent('ready');
    await publisher.send(draft(a.id, 'order', 'for alice'));
    const mine = await publisher.send(draft(b.id, 'payment', 'for bob'));
    await bobStream.waitForNotifications(1);
    expect(bobStream.notifications.map((e) => e.id)).toStrictEqual([String(mine.id)]);
    bobStream.close();
  });

  it('reconnecting while notifications are published: each once, ascending, all of them', async () => {
    const carol = new Client(t.baseUrl);
    const me = await carol.signUp('routing-carol@example.com');
    const first = await openStream(t.baseUrl, carol.cookieHeader);
    await first.waitForEvent('ready');
    const sent: string[] = [];
    let publishing = true;
    const producer = (async () => {
      while (publishing) {
        const batch = await Promise.all(
          Array.from({ length: 20 }, (_, i) => publisher.send(draft(me.id, 'order', `n${i}`))),
        );
        sent.push(...batch.map((r) => String(r.id)));
      }
    })();
    await first.waitForNotifications(50);
    first.close();
    const seen = first.notifications.map((e) => e.id!);
    const second = await openStream(t.baseUrl, carol.cookieHeader, { lastEventId: first.lastId });
    await second.waitForNotifications(100);
    publishing = false;
    await producer;
    await second.until(
      () => second.notifications.length > 0 && second.lastId === sent[sent.length - 1],
      'the last one published',
    );
    second.close();
    const union = [...seen, ...second.notifications.map((e) => e.id!)];
    expect(union).toStrictEqual(sent);
  });
});
