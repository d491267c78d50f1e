import { describe, expect, it } from '@jest/globals';
import { DELIVERY_METHODS } from '../client/registry.js';
import { METHOD_PLUGINS } from '../src/delivery/methods/index.js';
import type { DeliveryMethodPlugin } from '../src/delivery/port/delivery-method.js';
import { DeliveryMethods } from '../src/delivery/port/delivery-methods.js';
import { type Activity, NotificationActivity } from '../src/notifications/activity.js';
import { PreferencesService } from '../src/notifications/preferences.service.js';
import { startTestApp, sharedTestApp } from './support/app.js';
import { eventually } from './support/cluster.js';
import { Client } from './support/http.js';
import { DEFAULT_DELIVERY } from './support/registry.js';

/** The delivery-method port: the registry of plug-ins, their contacts, toggles as rows (issue 21). */
const t = sharedTestApp();

const plugin = (method: string): DeliveryMethodPlugin =>
  ({ method, grouping: 'each', contactNeededToEnable: null, hasContactSql: () => null }) as never;

describe('the registry of delivery-method plug-ins', () => {
  it('lists the registry methods, in its order, each from its own plug-in', () => {
    const methods = t.app.get(DeliveryMethods);
    expect(methods.names).toStrictEqual(DELIVERY_METHODS);
    expect(Object.keys(METHOD_PLUGINS)).toStrictEqual([...DELIVERY_METHODS]);
    for (const m of DELIVERY_METHODS) expect(methods.get(m).method).toBe(m);
  });

  it('refuses a plug-in list that does not match the registry', () => {
    const all = DELIVERY_METHODS.map(plugin);
    expect(() => new DeliveryMethods(all.filter((p) => p.method !== 'email'))).toThrow(/missing: email/);
    expect(() => new DeliveryMethods([...all, plugin('email')])).toThrow(/do not match/);
    expect(new DeliveryMethods([...all].reverse()).names).toStrictEqual(DELIVERY_METHODS);
  });

  it('answers per method whether a user has its contact, in SQL: push a subscribed browser, email always', async () => {
    const c = new Client(t.baseUrl);
    const { id } = await c.signUp('port-contacts@example.com');
    const methods = t.app.get(DeliveryMethods);
    const contacts = async () =>
      (await t.db.query(`SELECT ${methods.contactsSql('$1::bigint')} AS c`, [id])).rows[0].c as Record<string, boolean>;
    expect(await contacts()).toMatchObject({ push: false, email: true });
    await t.db.query(
      `INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth) VALUES ($1, 'https://push.example/port', 'k', 'a')`,
      [id],
    );
    expect(await contacts()).toMatchObject({ push: true, email: true });
  });
});

describe('per-method toggles', () => {
  it('are rows, one per choice, with when each last changed value', async () => {
    const c = new Client(t.baseUrl);
    const { id } = await c.signUp('port-toggles@example.com');
    const rows = async () =>
      (
        await t.db.query(
          `SELECT channel, method, enabled, changed_at IS NOT NULL AS changed FROM delivery_toggles
            WHERE user_id = $1 ORDER BY channel, method`,
          [id],
        )
      ).rows;
    // Chosen as the default: a row, but no change.
    expect((await c.put('/preferences', { delivery: { order: { email: true } } })).status).toBe(200);
    expect(await rows()).toStrictEqual([{ channel: 'order', method: 'email', enabled: true, changed: false }]);
    expect(
      (await c.put('/preferences', { delivery: { order: { email: false }, payment: { push: false } } })).status,
    ).toBe(200);
    expect(await rows()).toStrictEqual([
      { channel: 'order', method: 'email', enabled: false, changed: true },
      { channel: 'payment', method: 'push', enabled: false, changed: true },
    ]);
  });

  it('switching on a method whose contact is missing: 400 naming it, and nothing changed', async () => {
    const c = new Client(t.baseUrl);
    await c.signUp('port-enable@example.com');
    expect((await c.put('/preferences', { delivery: { payment: { push: false } } })).status).toBe(200);
    const before = { ...DEFAULT_DELIVERY, payment: { ...DEFAULT_DELIVERY.payment, push: false } };
    // As a plug-in with `contactNeededToEnable` does through DeliveryService (SMS: a verified phone).
    const off = t.app
      .get(PreferencesService)
      .onEnable(
        async (_userId, methods) => new Map(methods.includes('push') ? [['push', 'needs a test contact']] : []),
      );
    try {
      const put = await c.put('/preferences', {
        channels: { order: false },
        delivery: { order: { email: false }, payment: { push: true } },
      });
      expect(put.status).toBe(400);
      expect(put.body.message).toContain('delivery.payment.push: needs a test contact');
      const got = await c.get('/preferences');
      expect(got.body.channels.order).toBe(true);
      expect(got.body.delivery).toStrictEqual(before);
      // Leaving it on (a page saving every toggle as shown) or switching it off needs no contact.
      const same = await c.put('/preferences', { delivery: { order: { push: true }, system: { push: false } } });
      expect(same.status).toBe(200);
    } finally {
      off();
    }
    expect((await c.put('/preferences', { delivery: { payment: { push: true } } })).status).toBe(200);
  });
});

describe('every method tells what came of a delivery', () => {
  it('emits delivery.sent and delivery.failed on the activity port, per method', async () => {
    const app = await startTestApp({ ESCALATE_AFTER_MS: '200' });
    const seen: Activity[] = [];
    const sub = app.app.get(NotificationActivity).activity$.subscribe((a) => seen.push(a));
    try {
      const user = new Client(app.baseUrl);
      const { id } = await user.signUp('port-activity@example.com');
      // Outside PUSH_ENDPOINT_ALLOWLIST: refused for good when sent.
      await app.db.query(
        `INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth) VALUES ($1, 'https://push.example/x', 'k', 'a')`,
        [id],
      );
      const admin = new Client(app.baseUrl);
      expect((await admin.login(app.adminEmail, app.adminPassword)).status).toBe(200);
      const sent = await admin.post('/admin/broadcasts', {
        title: 'Told',
        body: 'To the webhooks.',
        audience: { userIds: [id] },
        deliver: ['push', 'email'],
      });
      expect(sent.status).toBe(201);
      await eventually(
        async () => seen.filter((a) => a.type.startsWith('delivery.')).length === 2,
        'two outcomes',
        60_000,
      );
      const outcomes = seen.filter((a) => a.type.startsWith('delivery.'));
      expect(outcomes).toContainEqual({
        type: 'delivery.sent',
        userId: id,
        notificationIds: [sent.body.id],
        method: 'email',
      });
      expect(outcomes).toContainEqual({
        type: 'delivery.failed',
        userId: id,
        notificationIds: [sent.body.id],
        method: 'push',
        error: expect.any(String),
      });
    } finally {
      sub.unsubscribe();
      await app.close();
    }
  });
});
