import type {
  Audience,
  BroadcastDraft,
  Channel,
  DeliveryMethod,
  PersonalDraft,
  Severity,
} from '../notifications/notification.types.js';

/**
 * THE CATALOGUE OF DOMAIN EVENTS: every event an event source may emit, its
 * payload, and how it reads as a notification. Emitters build events against
 * these types (a missing or misspelt field does not compile), and the one
 * listener — the notification renderer below — is checked against the same map.
 *
 * Money is in integer minor units (cents) everywhere; ids are decimal strings.
 */

export type OrderStatus = 'placed' | 'paid' | 'shipped' | 'delivered' | 'cancelled';

/** Events addressed to one user (the order's owner). */
export interface PersonalEventMap {
  'order.placed': { orderId: string; total: number; itemCount: number };
  'order.paid': { orderId: string; total: number; paymentId: string };
  'order.shipped': { orderId: string };
  'order.delivered': { orderId: string };
  'order.cancelled': { orderId: string; previousStatus: 'placed' | 'paid' };
  'payment.pending': { paymentId: string; orderId: string; amount: number };
  'payment.succeeded': { paymentId: string; orderId: string; amount: number };
  'payment.failed': { paymentId: string; orderId: string; amount: number };
}

/** Events with an audience rather than one recipient: stored once, whatever its size. */
export interface BroadcastEventMap {
  'system.broadcast': {
    title: string;
    body: string;
    severity: Severity;
    audience: Audience;
    expiresAt: Date | null;
    sentBy: string | null;
    /** Beyond in-app: by push and/or email to audience members who did not see it (empty: in-app only). */
    deliver: DeliveryMethod[];
  };
}

export type DomainEventMap = PersonalEventMap & BroadcastEventMap;
export type DomainEventName = keyof DomainEventMap;
export type PersonalEventName = keyof PersonalEventMap;

/** The channel an event is delivered on is the prefix of its name: `order.*` → `order`. */
export type ChannelOf<K extends string> = K extends `${infer C extends Channel}.${string}` ? C : never;

/** What a notification shows, apart from where it goes. */
export interface Rendering {
  severity: Severity;
  title: string;
  body: string;
  data: Record<string, unknown>;
}

interface CatalogueEntry<K extends DomainEventName> {
  channel: ChannelOf<K>;
  render(payload: DomainEventMap[K]): Rendering;
}

/** 1234 → "12.34": minor units shown without floating point. */
export function formatMinor(amount: number): string {
  const sign = amount < 0 ? '-' : '';
  const abs = Math.abs(amount);
  return `${sign}${Math.trunc(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

const order = (id: string) => `Order #${id}`;

export const CATALOGUE: { readonly [K in DomainEventName]: CatalogueEntry<K> } = {
  'order.placed': {
    channel: 'order',
    render: (p) => ({
      severity: 'info',
      title: `${order(p.orderId)} placed`,
      body: `${p.itemCount} ${p.itemCount === 1 ? 'item' : 'items'}, total ${formatMinor(p.total)}. It ships once it is paid.`,
      data: { orderId: p.orderId, status: 'placed', total: p.total, itemCount: p.itemCount },
    }),
  },
  'order.paid': {
    channel: 'order',
    render: (p) => ({
      severity: 'info',
      title: `${order(p.orderId)} paid`,
      body: `We received ${formatMinor(p.total)} and are preparing your order.`,
      data: { orderId: p.orderId, status: 'paid', total: p.total, paymentId: p.paymentId },
    }),
  },
  'order.shipped': {
    channel: 'order',
    render: (p) => ({
      severity: 'info',
      title: `${order(p.orderId)} shipped`,
      body: 'It is on its way.',
      data: { orderId: p.orderId, status: 'shipped' },
    }),
  },
  'order.delivered': {
    channel: 'order',
    render: (p) => ({
      severity: 'info',
      title: `${order(p.orderId)} delivered`,
      body: 'It has arrived. Enjoy!',
      data: { orderId: p.orderId, status: 'delivered' },
    }),
  },
  'order.cancelled': {
    channel: 'order',
    render: (p) => ({
      // A cancelled paid order means money to give back: worth more attention.
      severity: 'warning',
      title: `${order(p.orderId)} cancelled`,
      body:
        p.previousStatus === 'paid'
          ? 'It was cancelled after payment; your payment will be refunded.'
          : 'It was cancelled and will not be shipped.',
      data: { orderId: p.orderId, status: 'cancelled', previousStatus: p.previousStatus },
    }),
  },
  'payment.pending': {
    channel: 'payment',
    render: (p) => ({
      severity: 'info',
      title: `Payment for ${order(p.orderId).toLowerCase()} pending`,
      body: `Your payment of ${formatMinor(p.amount)} is waiting for confirmation.`,
      data: { paymentId: p.paymentId, orderId: p.orderId, status: 'pending', amount: p.amount },
    }),
  },
  'payment.succeeded': {
    channel: 'payment',
    render: (p) => ({
      severity: 'info',
      title: `Payment for ${order(p.orderId).toLowerCase()} succeeded`,
      body: `Your payment of ${formatMinor(p.amount)} went through.`,
      data: { paymentId: p.paymentId, orderId: p.orderId, status: 'succeeded', amount: p.amount },
    }),
  },
  'payment.failed': {
    channel: 'payment',
    render: (p) => ({
      severity: 'warning',
      title: `Payment for ${order(p.orderId).toLowerCase()} failed`,
      body: `Your payment of ${formatMinor(p.amount)} did not go through. You can try again.`,
      data: { paymentId: p.paymentId, orderId: p.orderId, status: 'failed', amount: p.amount },
    }),
  },
  'system.broadcast': {
    channel: 'system',
    render: (p) => ({ severity: p.severity, title: p.title, body: p.body, data: {} }),
  },
};

/** How a notification of this event reads (typed by the event's name). */
export function render<K extends DomainEventName>(
  type: K,
  payload: DomainEventMap[K],
): Rendering & { channel: Channel } {
  const entry: CatalogueEntry<K> = CATALOGUE[type];
  return { channel: entry.channel, ...entry.render(payload) };
}

/** A personal event as emitters write it: `{ type, recipient, payload }`, checked per type. */
export type PersonalEvent = {
  [K in PersonalEventName]: { type: K; recipient: string; payload: PersonalEventMap[K] };
}[PersonalEventName];

export function toPersonalDraft(event: PersonalEvent): PersonalDraft {
  // `event` is a correlated union (type ↔ payload); the generic render keeps them paired.
  const rendered = render(event.type as PersonalEventName, event.payload as never);
  return { userId: event.recipient, type: event.type, ...rendered };
}

export function toBroadcastDraft(payload: BroadcastEventMap['system.broadcast']): BroadcastDraft {
  return {
    type: 'system.broadcast',
    ...render('system.broadcast', payload),
    audience: payload.audience,
    expiresAt: payload.expiresAt,
    createdBy: payload.sentBy,
    deliver: payload.deliver,
  };
}
