import { describe, expect, it } from '@jest/globals';
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
        expect(canTransition(from as OrderStatus, to as OrderStatus)).toBe(allowed.has(`${from}→${to}`)); // `${from}→${to}`
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
    expect(names.sort()).toStrictEqual([...samples.map((s) => s.type), 'system.broadcast'].sort());
    for (const name of names) {
      expect(CHANNELS.includes(CATALOGUE[name].channel)).toBeTruthy();
      expect(CATALOGUE[name].channel).toBe(name.split('.')[0]);
    }
  });

  it('renders personal events into drafts the notifications table accepts', () => {
    for (const event of samples) {
      const draft = toPersonalDraft(event);
      expect(draft.userId).toBe('7');
      expect(draft.type).toBe(event.type);
      expect(draft.channel).toBe(event.type.split('.')[0]);
      expect(SEVERITIES.includes(draft.severity)).toBeTruthy();
      expect(draft.title.length >= 1 && draft.title.length <= 200).toBeTruthy(); // draft.title
      expect(draft.body.length <= 10_000).toBeTruthy();
      expect(draft.data.orderId).toBe('1001');
    }
    expect(toPersonalDraft(samples[2])).toStrictEqual({
      userId: '7',
      type: 'order.shipped',
      channel: 'order',
      severity: 'info',
      title: 'Order #1001 shipped',
      body: 'It is on its way.',
      data: { orderId: '1001', status: 'shipped' },
    });
    expect(toPersonalDraft(samples[4]).severity).toBe('warning');
    expect(toPersonalDraft(samples[7]).severity).toBe('warning');
  });

  it('renders a broadcast as given, with its audience, expiry and delivery methods', () => {
    const expiresAt = new Date('2030-01-01T00:00:00Z');
    const draft = toBroadcastDraft({
      title: 'Hi',
      body: 'All',
      severity: 'critical',
      audience: { kind: 'role', role: 'admin' },
      expiresAt,
      sentBy: '1',
      deliver: ['email'],
    });
    expect(draft).toStrictEqual({
      type: 'system.broadcast',
      channel: 'system',
      severity: 'critical',
      title: 'Hi',
      body: 'All',
      data: {},
      audience: { kind: 'role', role: 'admin' },
      expiresAt,
      createdBy: '1',
      deliver: ['email'],
    });
  });

  it('formats minor units without floating point', () => {
    expect(formatMinor(0)).toBe('0.00');
    expect(formatMinor(5)).toBe('0.05');
    expect(formatMinor(4848)).toBe('48.48');
    expect(formatMinor(1e15)).toBe('10000000000000.00');
    expect(formatMinor(-105)).toBe('-1.05');
  });
});
