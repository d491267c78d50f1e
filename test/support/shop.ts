import { expect } from '@jest/globals';
import { startTestApp, type TestApp } from './app.js';
import { Client } from './http.js';
import { openStream, type SseConnection } from './sse.js';

/** Helpers shared by the event-source tests (orders, payments, broadcasts). */

export async function signedIn(t: TestApp, email: string): Promise<{ client: Client; id: string }> {
  const client = new Client(t.baseUrl);
  const user = await client.signUp(email);
  return { client, id: user.id };
}

export async function adminClient(t: TestApp): Promise<Client> {
  const admin = new Client(t.baseUrl);
  const res = await admin.login(t.adminEmail, t.adminPassword);
  expect(res.status).toBe(200); // admin login
  return admin;
}

/** A test app with its admin signed in (the app closed again if the admin cannot sign in); `close` closes the app. */
export async function startWithAdmin(): Promise<{ t: TestApp; admin: Client; close(): Promise<void> }> {
  const t = await startTestApp();
  try {
    return { t, admin: await adminClient(t), close: () => t.close() };
  } catch (e) {
    await t.close();
    throw e;
  }
}

/** A live stream of this client's session, past its `ready` event (so nothing later is missed). */
export async function liveStream(t: TestApp, client: Client): Promise<SseConnection> {
  const conn = await openStream(t.baseUrl, client.cookieHeader);
  expect(conn.status).toBe(200); // `stream: ${conn.raw}`
  await conn.waitForEvent('ready');
  return conn;
}

export interface Received {
  event: string;
  id: string | undefined;
  json: {
    id: string;
    channel: string;
    type: string;
    severity: string;
    title: string;
    body: string;
    data: any;
    readAt: string | null;
  };
}

/** The notification events a stream has received so far, parsed. */
export function received(conn: SseConnection): Received[] {
  return conn.notifications.map((e) => ({ event: e.event, id: e.id, json: JSON.parse(e.data) }));
}

export async function count(t: TestApp, sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await t.db.query(sql, params);
  return Number(Object.values(rows[0])[0]);
}

/** Row counts of every table an event source writes, to show "nothing written". */
export async function snapshot(t: TestApp): Promise<Record<string, number | string>> {
  const { rows } = await t.db.query(`
    SELECT (SELECT count(*) FROM orders)::int AS orders,
           (SELECT count(*) FROM order_items)::int AS order_items,
           (SELECT count(*) FROM order_status_changes)::int AS status_changes,
           (SELECT count(*) FROM payments)::int AS payments,
           (SELECT count(*) FROM notifications)::int AS notifications,
           (SELECT coalesce(string_agg(id || ':' || status, ',' ORDER BY id), '') FROM orders) AS order_states,
           (SELECT coalesce(string_agg(id || ':' || status, ',' ORDER BY id), '') FROM payments) AS payment_states`);
  return rows[0];
}

export const ITEMS = [
  { sku: 'TEE-RED-M', quantity: 2, unitPrice: 1999 },
  { sku: 'MUG', quantity: 1, unitPrice: 850 },
];
export const ITEMS_TOTAL = 2 * 1999 + 850;

/**
 * Proves a stream got nothing it should not have: sends the stream's own user
 * something later (a marker) and waits for it. The feed delivers in id order,
 * so once the marker is there, anything committed before it would be too.
 */
export async function assertOnlyMarker(
  conn: SseConnection,
  sendMarker: () => Promise<string>,
  before: number,
): Promise<void> {
  const orderId = await sendMarker();
  await conn.waitForNotifications(before + 1);
  const got = received(conn).slice(before);
  expect(got.length).toBe(1); // `expected only the marker, got ${JSON.stringify(got.map((g) => g.json.type))}`
  expect(got[0].json.data.orderId).toBe(orderId);
}

/** Places an order for `client` and returns its id. */
export async function placeOrder(client: Client, items = ITEMS): Promise<string> {
  const res = await client.post('/orders', { items });
  expect(res.status).toBe(201); // res.text
  return res.body.id;
}
