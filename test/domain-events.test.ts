import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CATALOGUE,
  type DomainEventName,
  formatMinor,
  type PersonalEvent,
  toBroadcastDraft,
  toPersonalDraft,
} from '../src/events/domain-events.js';
import { CHANNELS, SEVERITIES } from '../src/notifications/notification.types.js';
import { canTransition, ORDER_STATUSES, type OrderStatus } from '../src/orders/order-status.js';

describe('order state machine', () => {
  it('allows exactly placed→paid→shipped→delivered and cancelling before shipping', () => {
    const allowed = new Set(['placed→paid', 'placed→cancelled', 'paid→shipped', 'paid→cancelled', 'shipped→delivered']);
    for (const from of ORDER_STATUSES) {
      for (const to of ORDER_STATUSES) {
        assert.equal(
          canTransition(from as OrderStatus, to as OrderStatus),
          allowed.has(`${from}→${to}`),
          `${from}→${to}`,
        );
      }
    }
  });
});

describe('domain event catalogue', () => {
  const samples: PersonalEvent[] = [
    { type: 'order.placed', recipient: '7', payload: { orderId: '1001', total: 4848, itemCount: 2 } },
    { type: 'order.paid', recipient: '7', payload: { orderId: '1001', total: 4848, paymentId: '3' } },
    { type: 'order.shipped', recipient: '7', payload: { orderId: '1001' } },
    { type: 'order.delivered', recipient: '7', payload: { orderId: '1001' } },
    { type: 'order.cancelled', recipient: '7', payload: { orderId: '1001', previousStatus: 'paid' } },
    { type: 'payment.pending', recipient: '7', payload: { paymentId: '3', orderId: '1001', amount: 4848 } },
    { type: 'payment.succeeded', recipient: '7', payload: { paymentId: '3', orderId: '1001', amount: 4848 } },
    { type: 'payment.failed', recipient: '7', payload: { paymentId: '3', orderId: '1001', amount: 4848 } },
  ];

  it('covers every event, each on the channel its name starts with', () => {
    const names = Object.keys(CATALOGUE) as DomainEventName[];
    assert.deepEqual(names.sort(), [...samples.map((s) => s.type), 'system.broadcast'].sort());
    for (const name of names) {
      assert.ok(CHANNELS.includes(CATALOGUE[name].channel));
      assert.equal(CATALOGUE[name].channel, name.split('.')[0]);
    }
  });

  it('renders personal events into drafts the notifications table accepts', () => {
    for (const event of samples) {
      const draft = toPersonalDraft(event);
      assert.equal(draft.userId, '7');
      assert.equal(draft.type, event.type);
      assert.equal(draft.channel, event.type.split('.')[0]);
      assert.ok(SEVERITIES.includes(draft.severity));
      assert.ok(draft.title.length >= 1 && draft.title.length <= 200, draft.title);
      assert.ok(draft.body.length <= 10_000);
      assert.equal(draft.data.orderId, '1001');
    }
    assert.deepEqual(toPersonalDraft(samples[2]), {
      userId: '7',
      type: 'order.shipped',
      channel: 'order',
      severity: 'info',
      title: 'Order #1001 shipped',
      body: 'It is on its way.',
      data: { orderId: '1001', status: 'shipped' },
    });
    assert.equal(toPersonalDraft(samples[4]).severity, 'warning');
    assert.equal(toPersonalDraft(samples[7]).severity, 'warning');
  });

  it('renders a broadcast as given, with its audience and expiry', () => {
    const expiresAt = new Date('2030-01-01T00:00:00Z');
    const draft = toBroadcastDraft({
      title: 'Hi',
      body: 'All',
      severity: 'critical',
      audience: { kind: 'role', role: 'admin' },
      expiresAt,
      sentBy: '1',
    });
    assert.deepEqual(draft, {
      type: 'system.broadcast',
      channel: 'system',
      severity: 'critical',
      title: 'Hi',
      body: 'All',
      data: {},
      audience: { kind: 'role', role: 'admin' },
      expiresAt,
      createdBy: '1',
    });
  });

  it('formats minor units without floating point', () => {
    assert.equal(formatMinor(0), '0.00');
    assert.equal(formatMinor(5), '0.05');
    assert.equal(formatMinor(4848), '48.48');
    assert.equal(formatMinor(1e15), '10000000000000.00');
    assert.equal(formatMinor(-105), '-1.05');
  });
});
