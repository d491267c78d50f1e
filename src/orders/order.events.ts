import { formatMinor } from '../common/money.js';
import { channelEvents } from '../events/domain-events.js';
import type { OrderStatus } from './order-status.js';

// Money is in integer minor units (cents); ids are decimal strings.
declare module '../events/domain-events.js' {
  interface PersonalEventMap {
    'order.placed': { orderId: string; total: number; itemCount: number };
    'order.paid': { orderId: string; total: number; paymentId: string };
    'order.shipped': { orderId: string };
    'order.delivered': { orderId: string };
    'order.cancelled': { orderId: string; previousStatus: Extract<OrderStatus, 'placed' | 'paid'> };
  }
}

export const orderTitle = (id: string) => `Order #${id}`;

export const ORDER_EVENTS = channelEvents('order', {
  'order.placed': (p) => ({
    severity: 'info',
    title: `${orderTitle(p.orderId)} placed`,
    body: `${p.itemCount} ${p.itemCount === 1 ? 'item' : 'items'}, total ${formatMinor(p.total)}. It ships once it is paid.`,
    data: { orderId: p.orderId, status: 'placed', total: p.total, itemCount: p.itemCount },
  }),
  'order.paid': (p) => ({
    severity: 'info',
    title: `${orderTitle(p.orderId)} paid`,
    body: `We received ${formatMinor(p.total)} and are preparing your order.`,
    data: { orderId: p.orderId, status: 'paid', total: p.total, paymentId: p.paymentId },
  }),
  'order.shipped': (p) => ({
    severity: 'info',
    title: `${orderTitle(p.orderId)} shipped`,
    body: 'It is on its way.',
    data: { orderId: p.orderId, status: 'shipped' },
    // No url: pressing it is recorded and the inbox page opens the order (GET /orders/:id).
    actions: [{ id: 'track', label: 'Track it', style: 'primary' }],
  }),
  'order.delivered': (p) => ({
    severity: 'info',
    title: `${orderTitle(p.orderId)} delivered`,
    body: 'It has arrived. Enjoy!',
    data: { orderId: p.orderId, status: 'delivered' },
  }),
  'order.cancelled': (p) => ({
    // A cancelled paid order means money to give back: worth more attention.
    severity: 'warning',
    title: `${orderTitle(p.orderId)} cancelled`,
    body:
      p.previousStatus === 'paid'
        ? 'It was cancelled after payment; your payment will be refunded.'
        : 'It was cancelled and will not be shipped.',
    data: { orderId: p.orderId, status: 'cancelled', previousStatus: p.previousStatus },
  }),
});
