import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { TestApp } from './support/app.js';
import { Client } from './support/http.js';
import { OrdersService } from '../src/orders/orders.service.js';
import {
  assertOnlyMarker,
  ITEMS,
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

/** Brings a fresh order of `client` to `status` through the public API. */
async function orderIn(
  client: Client,
  status: 'placed' | 'paid' | 'shipped' | 'delivered' | 'cancelled',
): Promise<string> {
  const id = await placeOrder(client);
  if (status === 'placed') return id;
  if (status === 'cancelled') {
    expect((await admin.post(`/admin/orders/${id}/status`, { status: 'cancelled' })).status).toBe(200);
    return id;
  }
  const pay = await client.post(`/orders/${id}/payments`, { amount: ITEMS_TOTAL });
  expect(pay.status).toBe(201); // pay.text
  expect((await admin.post(`/admin/payments/${pay.body.id}/settle`, { outcome: 'succeeded' })).status).toBe(200);
  if (status === 'paid') return id;
  expect((await admin.post(`/admin/orders/${id}/status`, { status: 'shipped' })).status).toBe(200);
  if (status === 'shipped') return id;
  expect((await admin.post(`/admin/orders/${id}/status`, { status: 'delivered' })).status).toBe(200);
  return id;
}

describe('placing an order', () => {
  it("computes the total on the server and notifies the owner's stream (event: order), no one else's", async () => {
    const alice = await signedIn(t, 'alice@example.com');
    const bob = await signedIn(t, 'bob@example.com');
    const aliceStream = await liveStream(t, alice.client);
    const bobStream = await liveStream(t, bob.client);

    const res = await alice.client.post('/orders', { items: ITEMS });
    expect(res.status).toBe(201); // res.text
    expect(res.body.status).toBe('placed');
    expect(res.body.total).toBe(ITEMS_TOTAL);
    expect(res.body.items).toStrictEqual([
      { sku: 'TEE-RED-M', quantity: 2, unitPrice: 1999, lineTotal: 3998 },
      { sku: 'MUG', quantity: 1, unitPrice: 850, lineTotal: 850 },
    ]);
    expect(res.body.id).toMatch(/^\d+$/);

    await aliceStream.waitForNotifications(1);
    const [n] = received(aliceStream);
    expect(n.event).toBe('order');
    expect(n.id).toBe(n.json.id);
    expect(n.json.channel).toBe('order');
    expect(n.json.type).toBe('order.placed');
    expect(n.json.severity).toBe('info');
    expect(n.json.title).toBe(`Order #${res.body.id} placed`);
    expect(n.json.data).toStrictEqual({ orderId: res.body.id, status: 'placed', total: ITEMS_TOTAL, itemCount: 2 });

    await assertOnlyMarker(bobStream, () => placeOrder(bob.client), 0);
    aliceStream.close();
    bobStream.close();
  });

  it('orders placed at the same moment (one statement for the batch) each get their own lines and notification', async () => {
    const shoppers = await Promise.all(['gus', 'hal', 'ivy', 'jan'].map((n) => signedIn(t, `${n}.batch@example.com`)));
    const streams = await Promise.all(shoppers.map((s) => liveStream(t, s.client)));
    // Four orders each, all in flight at once, with different lines per order.
    const statementsBefore = t.app.get(OrdersService).placeStatements;
    const placed = await Promise.all(
      shoppers.flatMap((s, u) =>
        [1, 2, 3, 4].map(async (k) => {
          const items = Array.from({ length: k }, (_, p) => ({
            sku: `S${u}-${k}-${p}`,
            quantity: p + 1,
            unitPrice: 100 * k,
          }));
          const res = await s.client.post('/orders', { items });
          expect(res.status).toBe(201);
          return { user: s.id, id: res.body.id as string, items };
        }),
      ),
    );
    expect(new Set(placed.map((p) => p.id)).size).toBe(16);
    // They shared statements (else this test proves nothing about batches).
    expect(t.app.get(OrdersService).placeStatements - statementsBefore).toBeLessThan(16);
    for (const p of placed) {
      const { rows } = await t.db.query(
        `SELECT o.user_id::text AS owner, i.sku, i.quantity, i.unit_price::int AS "unitPrice"
           FROM orders o JOIN order_items i ON i.order_id = o.id WHERE o.id = $1 ORDER BY i.position`,
        [p.id],
      );
      expect(rows).toStrictEqual(p.items.map((i) => ({ owner: p.user, ...i })));
    }
    for (const [u, stream] of streams.entries()) {
      await stream.waitForNotifications(4);
      const mine = placed.filter((p) => p.user === shoppers[u].id);
      const got = received(stream).map((n) => [n.json.title, n.json.data.orderId, n.json.data.itemCount]);
      expect(got.sort()).toStrictEqual(mine.map((p) => [`Order #${p.id} placed`, p.id, p.items.length]).sort());
      stream.close();
    }
  });

  it('stores the lines, the placed status and one notification in one go', async () => {
    const carol = await signedIn(t, 'carol@example.com');
    const id = await placeOrder(carol.client);
    const { rows: lines } = await t.db.query(
      `SELECT position, sku, quantity, unit_price::int AS unit_price FROM order_items WHERE order_id = $1 ORDER BY position`,
      [id],
    );
    expect(lines).toStrictEqual([
      { position: 1, sku: 'TEE-RED-M', quantity: 2, unit_price: 1999 },
      { position: 2, sku: 'MUG', quantity: 1, unit_price: 850 },
    ]);
    const { rows: history } = await t.db.query(
      `SELECT status, changed_by::text FROM order_status_changes WHERE order_id = $1`,
      [id],
    );
    expect(history).toStrictEqual([{ status: 'placed', changed_by: carol.id }]);
    const { rows: notes } = await t.db.query(
      `SELECT user_id::text, type FROM notifications WHERE data->>'orderId' = $1`,
      [id],
    );
    expect(notes).toStrictEqual([{ user_id: carol.id, type: 'order.placed' }]);
  });

  it('rejects bad bodies with 400 and writes nothing', async () => {
    const dan = await signedIn(t, 'dan@example.com');
    const line = { sku: 'A', quantity: 1, unitPrice: 100 };
    const bad: unknown[] = [
      {},
      { items: [] },
      { items: 'TEE' },
      { items: [null] },
      { items: [42] },
      { items: Array.from({ length: 101 }, () => line) },
      { items: Array.from({ length: 1000 }, () => line) },
      { items: [{ ...line, quantity: -1 }] },
      { items: [{ ...line, quantity: 0 }] },
      { items: [{ ...line, quantity: 1.5 }] },
      { items: [{ ...line, quantity: '1' }] },
      { items: [{ ...line, quantity: 10_001 }] },
      { items: [{ ...line, unitPrice: -5 }] },
      { items: [{ ...line, unitPrice: 9.99 }] },
      { items: [{ ...line, unitPrice: 1e12 }] },
      { items: [{ ...line, sku: '' }] },
      { items: [{ ...line, sku: 'x'.repeat(101) }] },
      { items: [{ ...line, sku: 7 }] },
      { items: [{ quantity: 1, unitPrice: 100 }] },
      { items: [line], total: 1 },
      { items: [{ ...line, discount: 50 }] },
      { items: [line], userId: '1' },
      [line],
    ];
    const before = await snapshot(t);
    for (const body of bad) {
      const res = await dan.client.post('/orders', body);
      expect(res.status).toBe(400); // `${JSON.stringify(body).slice(0, 120)} → ${res.status} ${res.text}`
      expect(res.body.statusCode).toBe(400);
      expect(typeof res.body.message).toBe('string');
    }
    const nul = await dan.client.post('/orders', { items: [{ ...line, sku: 'A\u0000B' }] });
    expect(nul.status).toBe(400);
    expect(await snapshot(t)).toStrictEqual(before);
  });

  it('accepts the largest order the bounds allow, exactly', async () => {
    const erin = await signedIn(t, 'erin@example.com');
    const items = Array.from({ length: 100 }, (_, i) => ({
      sku: `SKU-${i}`,
      quantity: 10_000,
      unitPrice: 1_000_000_000,
    }));
    const res = await erin.client.post('/orders', { items });
    expect(res.status).toBe(201); // res.text
    expect(res.body.total).toBe(1e15);
    expect(res.body.items.length).toBe(100);
  });

  it('needs a session', async () => {
    const anon = new Client(t.baseUrl);
    expect((await anon.post('/orders', { items: ITEMS })).status).toBe(401);
    expect((await anon.get('/orders')).status).toBe(401);
  });
});

describe('reading orders', () => {
  it("lists only the user's own orders, newest first, in pages", async () => {
    const fay = await signedIn(t, 'fay@example.com');
    const gus = await signedIn(t, 'gus@example.com');
    const mine = [await placeOrder(fay.client), await placeOrder(fay.client), await placeOrder(fay.client)];
    await placeOrder(gus.client);

    const all = await fay.client.get('/orders');
    expect(all.status).toBe(200);
    expect(all.body.items.map((o: { id: string }) => o.id)).toStrictEqual([...mine].reverse());
    expect(all.body.nextBefore).toBe(null);

    const first = await fay.client.get('/orders?limit=2');
    expect(first.body.items.map((o: { id: string }) => o.id)).toStrictEqual([mine[2], mine[1]]);
    expect(first.body.nextBefore).toBe(mine[1]);
    const second = await fay.client.get(`/orders?limit=2&before=${first.body.nextBefore}`);
    expect(second.body.items.map((o: { id: string }) => o.id)).toStrictEqual([mine[0]]);
    expect(second.body.nextBefore).toBe(null);
    expect(second.body.items[0].total).toBe(ITEMS_TOTAL);
    expect(second.body.items[0].items.length).toBe(2);

    for (const q of ['limit=0', 'limit=101', 'limit=x', 'before=abc', 'extra=1']) {
      expect((await fay.client.get(`/orders?${q}`)).status).toBe(400); // q
    }
  });

  it('lists newest first by number across a digit boundary (9999, 10000, 10001)', async () => {
    const dee = await signedIn(t, 'digits@example.com');
    // This file's own database: move the order ids to just below 10000.
    await t.db.query(`SELECT setval(pg_get_serial_sequence('orders', 'id'), 9998)`);
    const mine = [await placeOrder(dee.client), await placeOrder(dee.client), await placeOrder(dee.client)];
    expect(mine).toStrictEqual(['9999', '10000', '10001']);
    const first = await dee.client.get('/orders?limit=2');
    expect(first.body.items.map((o: { id: string }) => o.id)).toStrictEqual(['10001', '10000']);
    expect(first.body.nextBefore).toBe('10000');
    const second = await dee.client.get(`/orders?limit=2&before=${first.body.nextBefore}`);
    expect(second.body.items.map((o: { id: string }) => o.id)).toStrictEqual(['9999']);
    expect(second.body.nextBefore).toBe(null);
  });

  it("another user's order is 404, exactly like one that does not exist", async () => {
    const ida = await signedIn(t, 'ida@example.com');
    const ivy = await signedIn(t, 'ivy@example.com');
    const id = await placeOrder(ida.client);
    expect((await ida.client.get(`/orders/${id}`)).status).toBe(200);
    const theirs = await ivy.client.get(`/orders/${id}`);
    const missing = await ivy.client.get('/orders/999999999');
    expect(theirs.status).toBe(404);
    expect(theirs.body).toStrictEqual(missing.body);
    expect((await ivy.client.get('/orders/abc')).status).toBe(400);
    // Not even an admin sees other users' orders through the user routes.
    expect((await admin.get(`/orders/${id}`)).status).toBe(404);
  });
});

describe('admin status changes', () => {
  it("ship and deliver a paid order: each step on the owner's stream, nowhere else", async () => {
    const jay = await signedIn(t, 'jay@example.com');
    const kim = await signedIn(t, 'kim@example.com');
    const id = await orderIn(jay.client, 'paid');
    const jayStream = await liveStream(t, jay.client);
    const kimStream = await liveStream(t, kim.client);

    const shipped = await admin.post(`/admin/orders/${id}/status`, { status: 'shipped' });
    expect(shipped.status).toBe(200); // shipped.text
    expect(shipped.body.status).toBe('shipped');
    expect(shipped.body.total).toBe(ITEMS_TOTAL);
    const delivered = await admin.post(`/admin/orders/${id}/status`, { status: 'delivered' });
    expect(delivered.status).toBe(200);
    expect(delivered.body.status).toBe('delivered');

    await jayStream.waitForNotifications(2);
    const got = received(jayStream);
    expect(got.map((g) => [g.event, g.json.type, g.json.title, g.json.data.orderId])).toStrictEqual([
      ['order', 'order.shipped', `Order #${id} shipped`, id],
      ['order', 'order.delivered', `Order #${id} delivered`, id],
    ]);
    expect(BigInt(got[0].json.id) < BigInt(got[1].json.id)).toBeTruthy();
    expect((await jay.client.get(`/orders/${id}`)).body.status).toBe('delivered');

    const { rows } = await t.db.query(`SELECT status FROM order_status_changes WHERE order_id = $1 ORDER BY id`, [id]);
    expect(rows.map((r) => r.status)).toStrictEqual(['placed', 'paid', 'shipped', 'delivered']);

    await assertOnlyMarker(kimStream, () => placeOrder(kim.client), 0);
    jayStream.close();
    kimStream.close();
  });

  it('cancels before shipping, from placed and from paid, with a warning', async () => {
    const lee = await signedIn(t, 'lee@example.com');
    const placed = await orderIn(lee.client, 'placed');
    const paid = await orderIn(lee.client, 'paid');
    const stream = await liveStream(t, lee.client);
    for (const id of [placed, paid]) {
      const res = await admin.post(`/admin/orders/${id}/status`, { status: 'cancelled' });
      expect(res.status).toBe(200); // res.text
      expect(res.body.status).toBe('cancelled');
    }
    await stream.waitForNotifications(2);
    const got = received(stream);
    expect(
      got.map((g) => [g.event, g.json.type, g.json.severity, g.json.data.orderId, g.json.data.previousStatus]),
    ).toStrictEqual([
      ['order', 'order.cancelled', 'warning', placed, 'placed'],
      ['order', 'order.cancelled', 'warning', paid, 'paid'],
    ]);
    stream.close();
  });

  it('every transition the state machine forbids is 409 and writes nothing', async () => {
    const max = await signedIn(t, 'max@example.com');
    const forbidden: Array<[Parameters<typeof orderIn>[1], string]> = [
      ['placed', 'shipped'],
      ['placed', 'delivered'],
      ['paid', 'delivered'],
      ['shipped', 'shipped'],
      ['shipped', 'cancelled'],
      ['delivered', 'shipped'],
      ['delivered', 'delivered'],
      ['delivered', 'cancelled'],
      ['cancelled', 'shipped'],
      ['cancelled', 'delivered'],
      ['cancelled', 'cancelled'],
    ];
    for (const [from, to] of forbidden) {
      const id = await orderIn(max.client, from);
      const before = await snapshot(t);
      const res = await admin.post(`/admin/orders/${id}/status`, { status: to });
      expect(res.status).toBe(409); // `${from} → ${to}: ${res.status} ${res.text}`
      expect(res.body.message).toBe(`Order #${id} is ${from}; it cannot become ${to}`);
      expect(await snapshot(t)).toStrictEqual(before); // `${from} → ${to} wrote something`
    }
  });

  it('the same transition submitted twice at once: one succeeds, one 409, one notification', async () => {
    const ned = await signedIn(t, 'ned@example.com');
    const id = await orderIn(ned.client, 'paid');
    const results = await Promise.all([
      admin.post(`/admin/orders/${id}/status`, { status: 'shipped' }),
      admin.post(`/admin/orders/${id}/status`, { status: 'shipped' }),
    ]);
    expect(results.map((r) => r.status).sort()).toStrictEqual([200, 409]);
    const { rows } = await t.db.query(
      `SELECT count(*)::int AS n FROM notifications WHERE type = 'order.shipped' AND data->>'orderId' = $1`,
      [id],
    );
    expect(rows[0].n).toBe(1);
    const { rows: history } = await t.db.query(
      `SELECT count(*)::int AS n FROM order_status_changes WHERE order_id = $1 AND status = 'shipped'`,
      [id],
    );
    expect(history[0].n).toBe(1);
  });

  it('validates the target status and the id, and 404s an unknown order', async () => {
    const oli = await signedIn(t, 'oli@example.com');
    const id = await orderIn(oli.client, 'paid');
    const before = await snapshot(t);
    for (const body of [
      { status: 'paid' },
      { status: 'placed' },
      { status: 'lost' },
      {},
      { status: 'shipped', note: 'x' },
      { status: ['shipped'] },
    ]) {
      const res = await admin.post(`/admin/orders/${id}/status`, body);
      expect(res.status).toBe(400); // JSON.stringify(body)
    }
    expect((await admin.post('/admin/orders/abc/status', { status: 'shipped' })).status).toBe(400);
    expect((await admin.post('/admin/orders/999999999/status', { status: 'shipped' })).status).toBe(404);
    expect(await snapshot(t)).toStrictEqual(before);
  });

  it('is admin-only: a user, even the owner, gets 403 and nothing changes', async () => {
    const pam = await signedIn(t, 'pam@example.com');
    const id = await orderIn(pam.client, 'paid');
    const before = await snapshot(t);
    const res = await pam.client.post(`/admin/orders/${id}/status`, { status: 'shipped' });
    expect(res.status).toBe(403);
    expect(res.body).toStrictEqual({ statusCode: 403, message: 'Admin role required' });
    expect((await pam.client.post(`/admin/orders/${id}/status`, { status: 'cancelled' })).status).toBe(403);
    expect(await snapshot(t)).toStrictEqual(before);
  });
});

describe('atomicity', () => {
  it('if the notification cannot be stored, the order does not move either', async () => {
    const quinn = await signedIn(t, 'quinn@example.com');
    const id = await orderIn(quinn.client, 'paid');
    // Sabotage: the notifications table now refuses exactly the row this transition emits.
    await t.db.query(
      `ALTER TABLE notifications ADD CONSTRAINT test_no_shipped CHECK (type <> 'order.shipped') NOT VALID`,
    );
    try {
      const before = await snapshot(t);
      const res = await admin.post(`/admin/orders/${id}/status`, { status: 'shipped' });
      expect(res.status).toBe(500);
      expect(res.body).toStrictEqual({ statusCode: 500, message: 'Internal server error' });
      expect(await snapshot(t)).toStrictEqual(before);
      const { rows } = await t.db.query(`SELECT status FROM orders WHERE id = $1`, [id]);
      expect(rows[0].status).toBe('paid');
      const { rows: notes } = await t.db.query(
        `SELECT count(*)::int AS n FROM notifications WHERE type = 'order.shipped' AND data->>'orderId' = $1`,
        [id],
      );
      expect(notes[0].n).toBe(0);
    } finally {
      await t.db.query(`ALTER TABLE notifications DROP CONSTRAINT test_no_shipped`);
    }
    // With the database healthy again the same transition works, once.
    expect((await admin.post(`/admin/orders/${id}/status`, { status: 'shipped' })).status).toBe(200);
    const { rows } = await t.db.query(
      `SELECT count(*)::int AS n FROM notifications WHERE type = 'order.shipped' AND data->>'orderId' = $1`,
      [id],
    );
    expect(rows[0].n).toBe(1);
  });

  it('if the notification cannot be stored, placing the order leaves no order behind', async () => {
    const rae = await signedIn(t, 'rae@example.com');
    await t.db.query(
      `ALTER TABLE notifications ADD CONSTRAINT test_no_placed CHECK (type <> 'order.placed') NOT VALID`,
    );
    try {
      const before = await snapshot(t);
      const res = await rae.client.post('/orders', { items: ITEMS });
      expect(res.status).toBe(500);
      expect(await snapshot(t)).toStrictEqual(before);
    } finally {
      await t.db.query(`ALTER TABLE notifications DROP CONSTRAINT test_no_placed`);
    }
  });
});

describe('CSRF on the event-source routes', () => {
  it('every state-changing route is 403 without the session token, and writes nothing', async () => {
    const sam = await signedIn(t, 'sam@example.com');
    const orderId = await placeOrder(sam.client);
    const pay = await sam.client.post(`/orders/${orderId}/payments`, { amount: ITEMS_TOTAL });
    expect(pay.status).toBe(201);
    const before = await snapshot(t);
    const attempts: Array<[Client, string, unknown]> = [
      [sam.client, '/orders', { items: ITEMS }],
      [sam.client, `/orders/${orderId}/payments`, { amount: ITEMS_TOTAL }],
      [admin, `/admin/payments/${pay.body.id}/settle`, { outcome: 'succeeded' }],
      [admin, `/admin/orders/${orderId}/status`, { status: 'cancelled' }],
      [admin, '/admin/broadcasts', { title: 'x', body: 'y' }],
      [admin, '/admin/users', { email: 'csrf@example.com', password: 'password-123', role: 'admin' }],
    ];
    for (const [client, path, body] of attempts) {
      const none = await client.post(path, body, { csrf: false });
      expect(none.status).toBe(403); // `${path} without a token`
      expect(none.body).toStrictEqual({ statusCode: 403, message: 'Missing or invalid CSRF token' });
      expect((await client.post(path, body, { csrf: 'x'.repeat(43) })).status).toBe(403); // `${path} with a wrong token`
    }
    expect(await snapshot(t)).toStrictEqual(before);
    expect((await t.db.query(`SELECT count(*)::int AS n FROM users WHERE email = 'csrf@example.com'`)).rows[0].n).toBe(
      0,
    );
  });
});
