import type { Channel } from '../client/registry.js';
import { ORDER_EVENTS } from './orders/order.events.js';
import { OrdersModule } from './orders/orders.module.js';
import { PAYMENT_EVENTS } from './payments/payment.events.js';
import { PaymentsModule } from './payments/payments.module.js';
import { SYSTEM_EVENTS } from './system/system.events.js';
import { SystemModule } from './system/system.module.js';

/**
 * The event sources, one folder each: its module, and the events of its
 * channel. A channel of the registry (client/registry.ts) without its line
 * here does not compile. docs/extending.md says what else a new one needs.
 */
export const SOURCES = [
  { module: OrdersModule, events: ORDER_EVENTS },
  { module: PaymentsModule, events: PAYMENT_EVENTS },
  { module: SystemModule, events: SYSTEM_EVENTS },
] as const;

const everyChannelHasItsSource: [Exclude<Channel, (typeof SOURCES)[number]['events']['channel']>] extends [never]
  ? true
  : never = true;
void everyChannelHasItsSource;
