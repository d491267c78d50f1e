export type OrderStatus = 'placed' | 'paid' | 'shipped' | 'delivered' | 'cancelled';

export const ORDER_STATUSES: readonly OrderStatus[] = ['placed', 'paid', 'shipped', 'delivered', 'cancelled'];

/**
 * The order state machine, in one place:
 *
 *   placed ──pay──► paid ──► shipped ──► delivered
 *      │              │
 *      └──► cancelled ◄┘        (cancel only before shipping)
 *
 * `paid` is reached only through a succeeded payment (PaymentsService.settle);
 * admins move orders to the other states.
 */
const NEXT: { readonly [S in OrderStatus]: readonly OrderStatus[] } = {
  placed: ['paid', 'cancelled'],
  paid: ['shipped', 'cancelled'],
  shipped: ['delivered'],
  delivered: [],
  cancelled: [],
};

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return NEXT[from].includes(to);
}

/** The states an admin may set through POST /admin/orders/:id/status. */
export const ADMIN_TARGET_STATUSES = ['shipped', 'delivered', 'cancelled'] as const;
export type AdminTargetStatus = (typeof ADMIN_TARGET_STATUSES)[number];
