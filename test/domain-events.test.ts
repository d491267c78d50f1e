import { describe, expect, it } from '@jest/globals';
import { CHANNELS } from '../client/registry.js';
import { EventCatalogue, type PersonalEvent, SEVERITIES } from '../src/events/domain-events.js';
import { canTransition, ORDER_STATUSES, type OrderStatus } from '../src/orders/order-status.js';
import { ORDER_EVENTS } from '../src/orders/order.events.js';
import '../src/payments/payment.events.js';
import { SOURCES } from '../src/sources.js';
import '../src/system/system.events.js';

// The events files are imported too: their payload types reach this program through them.
const catalogue = new EventCatalogue(SOURCES.map((s) => s.events));
const toPersonalDraft = (event: PersonalEvent) => catalogue.personal(event);

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

  it('has every source, each event on the channel its name starts with', () => {
    expect(SOURCES.map((s) => s.events.channel)).toStrictEqual([...CHANNELS]);
    for (const event of [...samples.map((s) => s.type), 'system.broadcast']) expect(catalogue.types).toContain(event);
    for (const name of catalogue.types) {
      const { channel } = catalogue.render(name as PersonalEvent['type'], {} as never);
      expect(channel).toBe(name.split('.')[0]);
    }
  });

  it('refuses an event twice, and an event of no source', () => {
    expect(() => new EventCatalogue([ORDER_EVENTS, ORDER_EVENTS])).toThrow('order.placed is in the catalogue twice');
    expect(() => new EventCatalogue([]).personal(samples[0])).toThrow('order.placed is not in the catalogue');
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
      actions: [{ id: 'track', label: 'Track it', style: 'primary' }],
    });
    expect(toPersonalDraft(samples[4]).severity).toBe('warning');
    expect(toPersonalDraft(samples[7]).severity).toBe('warning');
  });

  it('renders a broadcast as given, with its audience, expiry and delivery methods', () => {
    const expiresAt = new Date('2030-01-01T00:00:00Z');
    const draft = catalogue.broadcast('system.broadcast', {
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
});
