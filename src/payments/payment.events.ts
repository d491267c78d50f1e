import { formatMoney, localesIn, translator } from '../common/i18n.js';
import { channelEvents } from '../events/domain-events.js';

declare module '../events/domain-events.js' {
  interface PersonalEventMap {
    'payment.pending': { paymentId: string; orderId: string; amount: number };
    'payment.succeeded': { paymentId: string; orderId: string; amount: number };
    'payment.failed': { paymentId: string; orderId: string; amount: number };
  }
}

const texts = translator(localesIn(new URL('./locales/', import.meta.url)));

export const PAYMENT_EVENTS = channelEvents('payment', {
  'payment.pending': (p, { locale, currency }) => {
    const t = texts(locale);
    return {
      severity: 'info',
      title: t('pending.title', { id: p.orderId }),
      body: t('pending.body', { amount: formatMoney(p.amount, currency, locale) }),
      data: { paymentId: p.paymentId, orderId: p.orderId, status: 'pending', amount: p.amount },
    };
  },
  'payment.succeeded': (p, { locale, currency }) => {
    const t = texts(locale);
    return {
      severity: 'info',
      title: t('succeeded.title', { id: p.orderId }),
      body: t('succeeded.body', { amount: formatMoney(p.amount, currency, locale) }),
      data: { paymentId: p.paymentId, orderId: p.orderId, status: 'succeeded', amount: p.amount },
    };
  },
  'payment.failed': (p, { locale, currency }) => {
    const t = texts(locale);
    return {
      severity: 'warning',
      title: t('failed.title', { id: p.orderId }),
      body: t('failed.body', { amount: formatMoney(p.amount, currency, locale) }),
      data: { paymentId: p.paymentId, orderId: p.orderId, status: 'failed', amount: p.amount },
      actions: [{ id: 'pay-again', label: t('failed.payAgain'), style: 'primary' }],
    };
  },
});
