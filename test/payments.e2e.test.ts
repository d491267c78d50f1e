import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { TestApp } from './support/app.js';
import type { Client } from './support/http.js';
import {
  assertOnlyMarker,
  ITEMS_TOTAL,
  liveStream,
  placeOrder,
  received,
  signedIn,
  snapshot,
  startWithAdmin,
} from './support/shop.js';

let t: TestApp;
let admin: Client;
beforeAll(async () => ({ t, admin } = await startWithAdmin()));
afterAll(() => t.close());

async function pay(client: Client, orderId: string, amount = ITEMS_TOTAL): Promise<string> {
  const res = await client.post(`/orders/${orderId}/payments`, { amount });
  expect(res.status).toBe(201); // res.text
  return res.body.id;
}

const notificationsOfOrder = async (orderId: string) =>
  (await t.db.query(`SELECT type FROM notifications WHERE data->>'orderId' = $1 ORDER BY id`, [orderId])).rows.map(
    (r) => r.type as string,
  );

describe('paying for an order', () => {
  it("pending, then settled as succeeded: payment and order events on the owner's stream, nowhere else", async () => {
    const alice = await signedIn(t, 'alice@example.com');
    const bob = await signedIn(t, 'bob@example.com');
    const orderId = await placeOrder(alice.client);
    const aliceStream = await liveStream(t, alice.client);
    const bobStream = await liveStream(t, bob.client);

    const created = await alice.client.post(`/orders/${orderId}/payments`, { amount: ITEMS_TOTAL });
    expect(created.status).toBe(201); // created.text
    expect(created.body.orderId).toBe(orderId);
    expect(created.body.amount).toBe(ITEMS_TOTAL);
    expect(created.body.status).toBe('pending');
    expect(created.body.settledAt).toBe(null);

    await aliceStream.waitForNotifications(1);
    const [pending] = received(aliceStream);
    expect(pending.event).toBe('payment');
    expect(pending.json.type).toBe('payment.pending');
    expect(pending.json.data).toStrictEqual({
      paymentId: created.body.id,
      orderId,
      status: 'pending',
      amount: ITEMS_TOTAL,
    });

    const settled = await admin.post(`/admin/payments/${created.body.id}/settle`, { outcome: 'succeeded' });
    expect(settled.status).toBe(200); // settled.text
    expect(settled.body.status).toBe('succeeded');
    expect(settled.body.settledAt).toBeTruthy();

    await aliceStream.waitForNotifications(3);
    const [, succeeded, paid] = received(aliceStream);
    expect([succeeded.event, succeeded.json.type, succeeded.json.severity]).toStrictEqual([
      'payment',
      'payment.succeeded',
      'info',
    ]);
    expect([paid.event, paid.json.type]).toStrictEqual(['order', 'order.paid']);
    expect(paid.json.data).toStrictEqual({ orderId, status: 'paid', total: ITEMS_TOTAL, paymentId: created.body.id });
    // One transaction, one publish: consecutive ids.
    expect(BigInt(paid.json.id)).toBe(BigInt(succeeded.json.id) + 1n);
    expect((await alice.client.get(`/orders/${orderId}`)).body.status).toBe('paid');

    await assertOnlyMarker(bobStream, () => placeOrder(bob.client), 0);
    aliceStream.close();
    bobStream.close();
  });

  it('a failed payment warns the owner, leaves the order placed, and can be retried', async () => {
    const carol = await signedIn(t, 'carol@example.com');
    const orderId = await placeOrder(carol.client);
    const stream = await liveStream(t, carol.client);
    const first = await pay(carol.client, orderId);
    const failed = await admin.post(`/admin/payments/${first}/settle`, { outcome: 'failed' });
    expect(failed.status).toBe(200);
    expect(failed.body.status).toBe('failed');
    await stream.waitForNotifications(2);
    const [, n] = received(stream);
    expect([n.event, n.json.type, n.json.severity]).toStrictEqual(['payment', 'payment.failed', 'warning']);
    expect((await carol.client.get(`/orders/${orderId}`)).body.status).toBe('placed');

    const second = await pay(carol.client, orderId);
    expect(second).not.toBe(first);
    expect((await admin.post(`/admin/payments/${second}/settle`, { outcome: 'succeeded' })).status).toBe(200);
    expect((await carol.client.get(`/orders/${orderId}`)).body.status).toBe('paid');
    expect(await notificationsOfOrder(orderId)).toStrictEqual([
      'order.placed',
      'payment.pending',
      'payment.failed',
      'payment.pending',
      'payment.succeeded',
      'order.paid',
    ]);
    stream.close();
  });
});

describe('payment rules', () => {
  it("another user's order or an unknown one: 404, nothing written", async () => {
    const dan = await signedIn(t, 'dan@example.com');
    const eve = await signedIn(t, 'eve@example.com');
    const orderId = await placeOrder(dan.client);
    const before = await snapshot(t);
    const theirs = await eve.client.post(`/orders/${orderId}/payments`, { amount: ITEMS_TOTAL });
    const missing = await eve.client.post('/orders/999999999/payments', { amount: ITEMS_TOTAL });
    expect(theirs.status).toBe(404);
    expect(theirs.body).toStrictEqual(missing.body);
    expect(await snapshot(t)).toStrictEqual(before);
  });

  it("an amount that is not the order's total: 400, nothing written", async () => {
    const fay = await signedIn(t, 'fay@example.com');
    const orderId = await placeOrder(fay.client);
    const before = await snapshot(t);
    for (const amount of [ITEMS_TOTAL - 1, ITEMS_TOTAL + 1, 0]) {
      const res = await fay.client.post(`/orders/${orderId}/payments`, { amount });
      expect(res.status).toBe(400);
      expect(res.body.message).toBe(`amount must equal the order's total (${ITEMS_TOTAL})`);
    }
    expect(await snapshot(t)).toStrictEqual(before);
  });

  it('bad bodies: 400, nothing written', async () => {
    const gus = await signedIn(t, 'gus@example.com');
    const orderId = await placeOrder(gus.client);
    const before = await snapshot(t);
    for (const body of [
      {},
      { amount: -1 },
      { amount: 48.48 },
      { amount: '4848' },
      { amount: null },
      { amount: ITEMS_TOTAL, currency: 'EUR' },
      [ITEMS_TOTAL],
    ]) {
      const res = await gus.client.post(`/orders/${orderId}/payments`, body);
      expect(res.status).toBe(400); // JSON.stringify(body)
    }
    expect((await gus.client.post('/orders/x1/payments', { amount: ITEMS_TOTAL })).status).toBe(400);
    expect(await snapshot(t)).toStrictEqual(before);
  });

  it('a second pending payment, or paying an order that is not placed: 409, nothing written', async () => {
    const hal = await signedIn(t, 'hal@example.com');
    const open = await placeOrder(hal.client);
    await pay(hal.client, open);
    const paidOrder = await placeOrder(hal.client);
    const paymentId = await pay(hal.client, paidOrder);
    expect((await admin.post(`/admin/payments/${paymentId}/settle`, { outcome: 'succeeded' })).status).toBe(200);
    const cancelled = await placeOrder(hal.client);
    expect((await admin.post(`/admin/orders/${cancelled}/status`, { status: 'cancelled' })).status).toBe(200);

    const before = await snapshot(t);
    const second = await hal.client.post(`/orders/${open}/payments`, { amount: ITEMS_TOTAL });
    expect(second.status).toBe(409);
    expect(second.body.message).toBe(`Order #${open} already has a pending payment`);
    const again = await hal.client.post(`/orders/${paidOrder}/payments`, { amount: ITEMS_TOTAL });
    expect(again.status).toBe(409);
    expect(again.body.message).toBe(`Order #${paidOrder} is paid; only a placed order can be paid`);
    expect((await hal.client.post(`/orders/${cancelled}/payments`, { amount: ITEMS_TOTAL })).status).toBe(409);
    expect(await snapshot(t)).toStrictEqual(before);
  });

  it('two payments submitted at once for one order: one pending payment, one 409', async () => {
    const ivy = await signedIn(t, 'ivy@example.com');
    const orderId = await placeOrder(ivy.client);
    const results = await Promise.all([
      ivy.client.post(`/orders/${orderId}/payments`, { amount: ITEMS_TOTAL }),
      ivy.client.post(`/orders/${orderId}/payments`, { amount: ITEMS_TOTAL }),
    ]);
    expect(results.map((r) => r.status).sort()).toStrictEqual([201, 409]);
    expect(await notificationsOfOrder(orderId)).toStrictEqual(['order.placed', 'payment.pending']);
  });
});

describe('settling', () => {
  it('settling twice is 409 and the owner got one notification', async () => {
    const jay = await signedIn(t, 'jay@example.com');
    const orderId = await placeOrder(jay.client);
    const paymentId = await pay(jay.client, orderId);
    expect((await admin.post(`/admin/payments/${paymentId}/settle`, { outcome: 'succeeded' })).status).toBe(200);
    const before = await snapshot(t);
    for (const outcome of ['succeeded', 'failed']) {
      const res = await admin.post(`/admin/payments/${paymentId}/settle`, { outcome });
      expect(res.status).toBe(409);
      expect(res.body.message).toBe(`Payment ${paymentId} is already settled`);
    }
    expect(await snapshot(t)).toStrictEqual(before);
    expect(await notificationsOfOrder(orderId)).toStrictEqual([
      'order.placed',
      'payment.pending',
      'payment.succeeded',
      'order.paid',
    ]);
  });

  it('two settles submitted at once: one 200, one 409, one set of notifications', async () => {
    const kim = await signedIn(t, 'kim@example.com');
    const orderId = await placeOrder(kim.client);
    const paymentId = await pay(kim.client, orderId);
    const results = await Promise.all([
      admin.post(`/admin/payments/${paymentId}/settle`, { outcome: 'succeeded' }),
      admin.post(`/admin/payments/${paymentId}/settle`, { outcome: 'failed' }),
    ]);
    expect(results.map((r) => r.status).sort()).toStrictEqual([200, 409]);
    const winner = results.find((r) => r.status === 200)!.body.status as string;
    const expected =
      winner === 'succeeded'
        ? ['order.placed', 'payment.pending', 'payment.succeeded', 'order.paid']
        : ['order.placed', 'payment.pending', 'payment.failed'];
    expect(await notificationsOfOrder(orderId)).toStrictEqual(expected);
  });

  it('a success for an order cancelled meanwhile is 409 and changes nothing; a failure is accepted', async () => {
    const lee = await signedIn(t, 'lee@example.com');
    const orderId = await placeOrder(lee.client);
    const paymentId = await pay(lee.client, orderId);
    expect((await admin.post(`/admin/orders/${orderId}/status`, { status: 'cancelled' })).status).toBe(200);
    const before = await snapshot(t);
    const res = await admin.post(`/admin/payments/${paymentId}/settle`, { outcome: 'succeeded' });
    expect(res.status).toBe(409);
    expect(res.body.message).toBe(`Order #${orderId} is cancelled; it cannot become paid`);
    expect(await snapshot(t)).toStrictEqual(before);
    expect((await admin.post(`/admin/payments/${paymentId}/settle`, { outcome: 'failed' })).status).toBe(200);
  });

  it('validates the outcome and the id; an unknown payment is 404', async () => {
    const max = await signedIn(t, 'max@example.com');
    const orderId = await placeOrder(max.client);
    const paymentId = await pay(max.client, orderId);
    const before = await snapshot(t);
    for (const body of [
      {},
      { outcome: 'refunded' },
      { outcome: 'SUCCEEDED' },
      { outcome: 1 },
      { outcome: 'failed', reason: 'x' },
    ]) {
      const res = await admin.post(`/admin/payments/${paymentId}/settle`, body);
      expect(res.status).toBe(400); // JSON.stringify(body)
    }
    expect((await admin.post('/admin/payments/0/settle', { outcome: 'failed' })).status).toBe(400);
    expect((await admin.post('/admin/payments/999999999/settle', { outcome: 'failed' })).status).toBe(404);
    expect(await snapshot(t)).toStrictEqual(before);
  });

  it('is admin-only: the payer gets 403 and nothing changes', async () => {
    const ned = await signedIn(t, 'ned@example.com');
    const orderId = await placeOrder(ned.client);
    const paymentId = await pay(ned.client, orderId);
    const before = await snapshot(t);
    const res = await ned.client.post(`/admin/payments/${paymentId}/settle`, { outcome: 'succeeded' });
    expect(res.status).toBe(403);
    expect(await snapshot(t)).toStrictEqual(before);
  });

  it('if a notification cannot be stored, the payment stays pending and the order placed', async () => {
    const oli = await signedIn(t, 'oli@example.com');
    const orderId = await placeOrder(oli.client);
    const paymentId = await pay(oli.client, orderId);
    // order.paid is the second row of the settle's single publish: the first one fails with it.
    await t.db.query(`ALTER TABLE notifications ADD CONSTRAINT test_no_paid CHECK (type <> 'order.paid') NOT VALID`);
    try {
      const before = await snapshot(t);
      const res = await admin.post(`/admin/payments/${paymentId}/settle`, { outcome: 'succeeded' });
      expect(res.status).toBe(500);
      expect(await snapshot(t)).toStrictEqual(before);
      const { rows } = await t.db.query(
        `SELECT p.status AS payment, o.status AS order FROM payments p JOIN orders o ON o.id = p.order_id WHERE p.id = $1`,
        [paymentId],
      );
      expect(rows).toStrictEqual([{ payment: 'pending', order: 'placed' }]);
    } finally {
      await t.db.query(`ALTER TABLE notifications DROP CONSTRAINT test_no_paid`);
    }
    expect((await admin.post(`/admin/payments/${paymentId}/settle`, { outcome: 'succeeded' })).status).toBe(200);
    expect(await notificationsOfOrder(orderId)).toStrictEqual([
      'order.placed',
      'payment.pending',
      'payment.succeeded',
      'order.paid',
    ]);
  });
});
