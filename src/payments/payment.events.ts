import { formatMoney, localesIn, translator } from '../common/i18n.js';
import { channelEvents, type RenderContext } from '../events/domain-events.js';

declare module '../events/domain-events.js' {
  interface PersonalEventMap {
    'payment.pending': { paymentId: string; orderId: string; amount: number };
    'payment.succeeded': { paymentId: string; orderId: string; amount: number };
    'payment.failed': { paymentId: string; orderId: string; amount: number };
  }
}

const texts = translator(localesIn(new URL('./locales/', import.meta.url)));

/** The three read alike: `<status>.title` and `.body` with the amount, the payment in data. */
function paymentNotice(
  status: 'pending' | 'succeeded' | 'failed',
  p: { paymentId: string; orderId: string; amount: number },
  { locale, currency }: RenderContext,
) {
  const t = texts(locale);
  return {
    title: t(`${status}.title`, { id: p.orderId }),
    body: t(`${status}.body`, { amount: formatMoney(p.amount, currency, locale) }),
    data: { paymentId: p.paymentId, orderId: p.orderId, status, amount: p.amount },
  };
}

export const PAYMENT_EVENTS = channelEvents('payment', {
  'payment.pending': (p, context) => ({ severity: 'info', ...paymentNotice('pending', p, context) }),
  'payment.succeeded': (p, context) => ({ severity: 'info', ...paymentNotice('succeeded', p, context) }),
  'payment.failed': (p, context) => ({
    severity: 'warning',
    ...paymentNotice('failed', p, context),
    actions: [{ id: 'pay-again', label: texts(context.locale)('failed.payAgain'), style: 'primary' }],
  }),
});
