import { formatMoney, localesIn, translator } from '../common/i18n.js';
import { channelEvents } from '../events/domain-events.js';
import type { OrderStatus } from './order-status.js';

// Money is in integer minor units (cents) of CURRENCY; ids are decimal strings.
declare module '../events/domain-events.js' {
  interface PersonalEventMap {
    'order.placed': { orderId: string; total: number; itemCount: number };
    'order.paid': { orderId: string; total: number; paymentId: string };
    'order.shipped': { orderId: string };
    'order.delivered': { orderId: string };
    'order.cancelled': { orderId: string; previousStatus: Extract<OrderStatus, 'placed' | 'paid'> };
  }
}

const texts = translator(localesIn(new URL('./locales/', import.meta.url)));

/** Shipped and delivered say no more than that: `<status>.title` and `.body`, the order in data. */
function moved(status: 'shipped' | 'delivered', p: { orderId: string }, locale: string) {
  const t = texts(locale);
  return {
    title: t(`${status}.title`, { id: p.orderId }),
    body: t(`${status}.body`),
    data: { orderId: p.orderId, status },
  };
}

export const ORDER_EVENTS = channelEvents('order', {
  'order.placed': (p, { locale, currency }) => {
    const t = texts(locale);
    return {
      severity: 'info',
      title: t('placed.title', { id: p.orderId }),
      body: t('placed.body', { count: p.itemCount, total: formatMoney(p.total, currency, locale) }),
      data: { orderId: p.orderId, status: 'placed', total: p.total, itemCount: p.itemCount },
    };
  },
  'order.paid': (p, { locale, currency }) => {
    const t = texts(locale);
    return {
      severity: 'info',
      title: t('paid.title', { id: p.orderId }),
      body: t('paid.body', { total: formatMoney(p.total, currency, locale) }),
      data: { orderId: p.orderId, status: 'paid', total: p.total, paymentId: p.paymentId },
    };
  },
  'order.shipped': (p, { locale }) => ({
    severity: 'info',
    ...moved('shipped', p, locale),
    // No url: pressing it is recorded and the inbox page opens the order (GET /orders/:id).
    actions: [{ id: 'track', label: texts(locale)('shipped.track'), style: 'primary' }],
  }),
  'order.delivered': (p, { locale }) => ({ severity: 'info', ...moved('delivered', p, locale) }),
  'order.cancelled': (p, { locale }) => {
    const t = texts(locale);
    return {
      // A cancelled paid order means money to give back: worth more attention.
      severity: 'warning',
      title: t('cancelled.title', { id: p.orderId }),
      body: t(p.previousStatus === 'paid' ? 'cancelled.bodyPaid' : 'cancelled.body'),
      data: { orderId: p.orderId, status: 'cancelled', previousStatus: p.previousStatus },
    };
  },
});
