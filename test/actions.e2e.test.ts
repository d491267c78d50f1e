import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { firstValueFrom } from 'rxjs';
import { filter, take, toArray } from 'rxjs/operators';
import { NotificationActivity } from '../src/notifications/activity.js';
import type { TestApp } from './support/app.js';
import type { Client } from './support/http.js';
import { ITEMS_TOTAL, liveStream, placeOrder, signedIn, startWithAdmin } from './support/shop.js';

let t: TestApp;
let admin: Client;
beforeAll(async () => ({ t, admin } = await startWithAdmin()));
afterAll(() => t.close());

async function latest(c: Client, type: string) {
  const items = (await c.get('/notifications?status=all&limit=100')).body.items as Array<{
    id: string;
    type: string;
    actions: unknown[];
    readAt: string | null;
  }>;
  return items.find((n) => n.type === type)!;
}

describe('notification actions', () => {
  it('order.shipped offers "Track it" and payment.failed "Pay again"; others none', async () => {
    const u = await signedIn(t, 'actions-catalogue@example.com');
    const orderId = await placeOrder(u.client);
    const pay = await u.client.post(`/orders/${orderId}/payments`, { amount: ITEMS_TOTAL });
    expect((await admin.post(`/admin/payments/${pay.body.id}/settle`, { outcome: 'failed' })).status).toBe(200);
    const pay2 = await u.client.post(`/orders/${orderId}/payments`, { amount: ITEMS_TOTAL });
    expect((await admin.post(`/admin/payments/${pay2.body.id}/settle`, { outcome: 'succeeded' })).status).toBe(200);
    expect((await admin.post(`/admin/orders/${orderId}/status`, { status: 'shipped' })).status).toBe(200);
    expect((await latest(u.client, 'order.shipped')).actions).toStrictEqual([
      { id: 'track', label: 'Track it', style: 'primary' },
    ]);
    expect((await latest(u.client, 'payment.failed')).actions).toStrictEqual([
      { id: 'pay-again', label: 'Pay again', style: 'primary' },
    ]);
    expect((await latest(u.client, 'order.placed')).actions).toStrictEqual([]);
  });

  it('pressing one records it, marks it read, tells the other tabs and emits notification.action; 404 for an unknown action or another user', async () => {
    const u = await signedIn(t, 'actions-press@example.com');
    const other = await signedIn(t, 'actions-press-other@example.com');
    const orderId = await placeOrder(u.client);
    const pay = await u.client.post(`/orders/${orderId}/payments`, { amount: ITEMS_TOTAL });
    await admin.post(`/admin/payments/${pay.body.id}/settle`, { outcome: 'failed' });
    const n = await latest(u.client, 'payment.failed');
    expect(n.readAt).toBe(null);
    const tab = await liveStream(t, u.client);
    const activity = firstValueFrom(
      t.app.get(NotificationActivity).activity$.pipe(
        filter((a) => a.type === 'notification.action'),
        take(1),
        toArray(),
      ),
    );
    try {
      for (const [c, path] of [
        [u.client, `/notifications/${n.id}/actions/nope`],
        [u.client, `/notifications/${n.id}/actions/Pay%20Again`],
        [other.client, `/notifications/${n.id}/actions/pay-again`],
        [u.client, `/notifications/999999999/actions/pay-again`],
      ] as const) {
        const res = await c.post(path);
        expect([path, res.status]).toStrictEqual([path, 404]);
      }
      expect(await t.db.query(`SELECT * FROM notification_action_presses`).then((r) => r.rows)).toStrictEqual([]);
      expect((await u.client.post(`/notifications/${n.id}/actions/pay-again`)).status).toBe(204);
      expect(await activity).toStrictEqual([
        { type: 'notification.action', userId: u.id, notificationId: n.id, actionId: 'pay-again' },
      ]);
      expect((await latest(u.client, 'payment.failed')).readAt).not.toBe(null);
      const read = await tab.waitForEvent('read');
      expect(JSON.parse(read.data)).toStrictEqual({ ids: [n.id] });
      const presses = await t.db.query(
        `SELECT user_id::text, notification_id::text, action_id FROM notification_action_presses`,
      );
      expect(presses.rows).toStrictEqual([{ user_id: u.id, notification_id: n.id, action_id: 'pay-again' }]);
      // Pressing again is fine (the time moves).
      expect((await u.client.post(`/notifications/${n.id}/actions/pay-again`)).status).toBe(204);
    } finally {
      tab.close();
    }
  });

  it('broadcasts may carry up to 3 actions, validated', async () => {
    const actions = [
      { id: 'read-more', label: 'Read more', url: 'https://shop.example/maintenance', style: 'primary' },
      { id: 'later', label: 'Later', style: 'secondary' },
    ];
    const sent = await admin.post('/admin/broadcasts', { title: 'With buttons', body: 'b', actions });
    expect(sent.status).toBe(201);
    expect(sent.body.actions).toStrictEqual(actions);
    const a = { id: 'a', label: 'A', style: 'primary' };
    for (const bad of [
      [a, { ...a, id: 'b' }, { ...a, id: 'c' }, { ...a, id: 'd' }],
      [a, a],
      [{ ...a, label: '' }],
      [{ ...a, label: 'x'.repeat(41) }],
      [{ ...a, url: 'javascript:alert(1)' }],
      [{ ...a, url: 'ftp://shop.example/x' }],
      [{ ...a, url: '/relative' }],
      [{ ...a, style: 'danger' }],
      [{ ...a, id: 'Has Space' }],
      [{ ...a, extra: 1 }],
      [{ label: 'no id', style: 'primary' }],
      'not-an-array',
    ]) {
      const res = await admin.post('/admin/broadcasts', { title: 'Bad', body: 'b', actions: bad });
      expect([res.status, bad]).toStrictEqual([400, bad]);
    }
  });
});
