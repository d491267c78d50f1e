import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from './support/app.js';
import type { Client } from './support/http.js';
import {
  adminClient,
  assertOnlyMarker,
  ITEMS_TOTAL,
  liveStream,
  placeOrder,
  received,
  signedIn,
  snapshot,
} from './support/shop.js';

let t: TestApp;
let admin: Client;
before(async () => {
  t = await startTestApp();
  admin = await adminClient(t);
});
after(async () => {
  await t.close();
});

async function pay(client: Client, orderId: string, amount = ITEMS_TOTAL): Promise<string> {
  const res = await client.post(`/orders/${orderId}/payments`, { amount });
  assert.equal(res.status, 201, res.text);
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
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.orderId, orderId);
    assert.equal(created.body.amount, ITEMS_TOTAL);
    assert.equal(created.body.status, 'pending');
    assert.equal(created.body.settledAt, null);

    await aliceStream.waitForNotifications(1);
    const [pending] = received(aliceStream);
    assert.equal(pending.event, 'payment');
    assert.equal(pending.json.type, 'payment.pending');
    assert.deepEqual(pending.json.data, {
      paymentId: created.body.id,
      orderId,
      status: 'pending',
      amount: ITEMS_TOTAL,
    });

    const settled = await admin.post(`/admin/payments/${created.body.id}/settle`, { outcome: 'succeeded' });
    assert.equal(settled.status, 200, settled.text);
    assert.equal(settled.body.status, 'succeeded');
    assert.ok(settled.body.settledAt);

    await aliceStream.waitForNotifications(3);
    const [, succeeded, paid] = received(aliceStream);
    assert.deepEqual(
      [succeeded.event, succeeded.json.type, succeeded.json.severity],
      ['payment', 'payment.succeeded', 'info'],
    );
    assert.deepEqual([paid.event, paid.json.type], ['order', 'order.paid']);
    assert.deepEqual(paid.json.data, { orderId, status: 'paid', total: ITEMS_TOTAL, paymentId: created.body.id });
    // One transaction, one publish: consecutive ids.
    assert.equal(BigInt(paid.json.id), BigInt(succeeded.json.id) + 1n);
    assert.equal((await alice.client.get(`/orders/${orderId}`)).body.status, 'paid');

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
    assert.equal(failed.status, 200);
    assert.equal(failed.body.status, 'failed');
    await stream.waitForNotifications(2);
    const [, n] = received(stream);
    assert.deepEqual([n.event, n.json.type, n.json.severity], ['payment', 'payment.failed', 'warning']);
    assert.equal((await carol.client.get(`/orders/${orderId}`)).body.status, 'placed');

    const second = await pay(carol.client, orderId);
    assert.notEqual(second, first);
    assert.equal((await admin.post(`/admin/payments/${second}/settle`, { outcome: 'succeeded' })).status, 200);
    assert.equal((await carol.client.get(`/orders/${orderId}`)).body.status, 'paid');
    assert.deepEqual(await notificationsOfOrder(orderId), [
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
    assert.equal(theirs.status, 404);
    assert.deepEqual(theirs.body, missing.body);
    assert.deepEqual(await snapshot(t), before);
  });

  it("an amount that is not the order's total: 400, nothing written", async () => {
    const fay = await signedIn(t, 'fay@example.com');
    const orderId = await placeOrder(fay.client);
    const before = await snapshot(t);
    for (const amount of [ITEMS_TOTAL - 1, ITEMS_TOTAL + 1, 0]) {
      const res = await fay.client.post(`/orders/${orderId}/payments`, { amount });
      assert.equal(res.status, 400);
      assert.equal(res.body.message, `amount must equal the order's total (${ITEMS_TOTAL})`);
    }
    assert.deepEqual(await snapshot(t), before);
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
      assert.equal(res.status, 400, JSON.stringify(body));
    }
    assert.equal((await gus.client.post('/orders/x1/payments', { amount: ITEMS_TOTAL })).status, 400);
    assert.deepEqual(await snapshot(t), before);
  });

  it('a second pending payment, or paying an order that is not placed: 409, nothing written', async () => {
    const hal = await signedIn(t, 'hal@example.com');
    const open = await placeOrder(hal.client);
    await pay(hal.client, open);
    const paidOrder = await placeOrder(hal.client);
    const paymentId = await pay(hal.client, paidOrder);
    assert.equal((await admin.post(`/admin/payments/${paymentId}/settle`, { outcome: 'succeeded' })).status, 200);
    const cancelled = await placeOrder(hal.client);
    assert.equal((await admin.post(`/admin/orders/${cancelled}/status`, { status: 'cancelled' })).status, 200);

    const before = await snapshot(t);
    const second = await hal.client.post(`/orders/${open}/payments`, { amount: ITEMS_TOTAL });
    assert.equal(second.status, 409);
    assert.equal(second.body.message, `Order #${open} already has a pending payment`);
    const again = await hal.client.post(`/orders/${paidOrder}/payments`, { amount: ITEMS_TOTAL });
    assert.equal(again.status, 409);
    assert.equal(again.body.message, `Order #${paidOrder} is paid; only a placed order can be paid`);
    assert.equal((await hal.client.post(`/orders/${cancelled}/payments`, { amount: ITEMS_TOTAL })).status, 409);
    assert.deepEqual(await snapshot(t), before);
  });

  it('two payments submitted at once for one order: one pending payment, one 409', async () => {
    const ivy = await signedIn(t, 'ivy@example.com');
    const orderId = await placeOrder(ivy.client);
    const results = await Promise.all([
      ivy.client.post(`/orders/${orderId}/payments`, { amount: ITEMS_TOTAL }),
      ivy.client.post(`/orders/${orderId}/payments`, { amount: ITEMS_TOTAL }),
    ]);
    assert.deepEqual(results.map((r) => r.status).sort(), [201, 409]);
    assert.deepEqual(await notificationsOfOrder(orderId), ['order.placed', 'payment.pending']);
  });
});

describe('settling', () => {
  it('settling twice is 409 and the owner got one notification', async () => {
    const jay = await signedIn(t, 'jay@example.com');
    const orderId = await placeOrder(jay.client);
    const paymentId = await pay(jay.client, orderId);
    assert.equal((await admin.post(`/admin/payments/${paymentId}/settle`, { outcome: 'succeeded' })).status, 200);
    const before = await snapshot(t);
    for (const outcome of ['succeeded', 'failed']) {
      const res = await admin.post(`/admin/payments/${paymentId}/settle`, { outcome });
      assert.equal(res.status, 409);
      assert.equal(res.body.message, `Payment ${paymentId} is already settled`);
    }
    assert.deepEqual(await snapshot(t), before);
    assert.deepEqual(await notificationsOfOrder(orderId), [
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
    assert.deepEqual(results.map((r) => r.status).sort(), [200, 409]);
    const winner = results.find((r) => r.status === 200)!.body.status as string;
    const expected =
      winner === 'succeeded'
        ? ['order.placed', 'payment.pending', 'payment.succeeded', 'order.paid']
        : ['order.placed', 'payment.pending', 'payment.failed'];
    assert.deepEqual(await notificationsOfOrder(orderId), expected);
  });

  it('a success for an order cancelled meanwhile is 409 and changes nothing; a failure is accepted', async () => {
    const lee = await signedIn(t, 'lee@example.com');
    const orderId = await placeOrder(lee.client);
    const paymentId = await pay(lee.client, orderId);
    assert.equal((await admin.post(`/admin/orders/${orderId}/status`, { status: 'cancelled' })).status, 200);
    const before = await snapshot(t);
    const res = await admin.post(`/admin/payments/${paymentId}/settle`, { outcome: 'succeeded' });
    assert.equal(res.status, 409);
    assert.equal(res.body.message, `Order #${orderId} is cancelled; it cannot become paid`);
    assert.deepEqual(await snapshot(t), before);
    assert.equal((await admin.post(`/admin/payments/${paymentId}/settle`, { outcome: 'failed' })).status, 200);
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
      assert.equal(res.status, 400, JSON.stringify(body));
    }
    assert.equal((await admin.post('/admin/payments/0/settle', { outcome: 'failed' })).status, 400);
    assert.equal((await admin.post('/admin/payments/999999999/settle', { outcome: 'failed' })).status, 404);
    assert.deepEqual(await snapshot(t), before);
  });

  it('is admin-only: the payer gets 403 and nothing changes', async () => {
    const ned = await signedIn(t, 'ned@example.com');
    const orderId = await placeOrder(ned.client);
    const paymentId = await pay(ned.client, orderId);
    const before = await snapshot(t);
    const res = await ned.client.post(`/admin/payments/${paymentId}/settle`, { outcome: 'succeeded' });
    assert.equal(res.status, 403);
    assert.deepEqual(await snapshot(t), before);
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
      assert.equal(res.status, 500);
      assert.deepEqual(await snapshot(t), before);
      const { rows } = await t.db.query(
        `SELECT p.status AS payment, o.status AS order FROM payments p JOIN orders o ON o.id = p.order_id WHERE p.id = $1`,
        [paymentId],
      );
      assert.deepEqual(rows, [{ payment: 'pending', order: 'placed' }]);
    } finally {
      await t.db.query(`ALTER TABLE notifications DROP CONSTRAINT test_no_paid`);
    }
    assert.equal((await admin.post(`/admin/payments/${paymentId}/settle`, { outcome: 'succeeded' })).status, 200);
    assert.deepEqual(await notificationsOfOrder(orderId), [
      'order.placed',
      'payment.pending',
      'payment.succeeded',
      'order.paid',
    ]);
  });
});
