import { formatMinor } from '../common/money.js';
import { channelEvents } from '../events/domain-events.js';
import { orderTitle } from '../orders/order.events.js';

declare module '../events/domain-events.js' {
  interface PersonalEventMap {
    'payment.pending': { paymentId: string; orderId: string; amount: number };
    'payment.succeeded': { paymentId: string; orderId: string; amount: number };
    'payment.failed': { paymentId: string; orderId: string; amount: number };
  }
}

const forOrder = (orderId: string) => `Payment for ${orderTitle(orderId).toLowerCase()}`;

export const PAYMENT_EVENTS = channelEvents('payment', {
  'payment.pending': (p) => ({
    severity: 'info',
    title: `${forOrder(p.orderId)} pending`,
    body: `Your payment of ${formatMinor(p.amount)} is waiting for confirmation.`,
    data: { paymentId: p.paymentId, orderId: p.orderId, status: 'pending', amount: p.amount },
  }),
  'payment.succeeded': (p) => ({
    severity: 'info',
    title: `${forOrder(p.orderId)} succeeded`,
    body: `Your payment of ${formatMinor(p.amount)} went through.`,
    data: { paymentId: p.paymentId, orderId: p.orderId, status: 'succeeded', amount: p.amount },
  }),
  'payment.failed': (p) => ({
    severity: 'warning',
    title: `${forOrder(p.orderId)} failed`,
    body: `Your payment of ${formatMinor(p.amount)} did not go through. You can try again.`,
    data: { paymentId: p.paymentId, orderId: p.orderId, status: 'failed', amount: p.amount },
    actions: [{ id: 'pay-again', label: 'Pay again', style: 'primary' }],
  }),
});
