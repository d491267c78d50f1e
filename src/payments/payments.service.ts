import { Injectable } from '@nestjs/common';
import { conflict, invalid, notFound } from '../common/domain-error.js';
import { TransactionRunner } from '../database/transaction.js';
import { DomainEvents } from '../events/domain-events.service.js';
import { OrdersService } from '../orders/orders.service.js';
import type { PaymentStatus, SettleOutcome } from './payments.dto.js';

interface PaymentRow {
  id: string;
  order_id: string;
  amount: string;
  status: PaymentStatus;
  created_at: Date;
  settled_at: Date | null;
}

export interface PaymentJson {
  id: string;
  orderId: string;
  amount: number;
  status: PaymentStatus;
  createdAt: string;
  settledAt: string | null;
}

const PAYMENT_COLUMNS = `id::text AS id, order_id::text AS order_id, amount::text AS amount, status, created_at, settled_at`;

const toJson = (p: PaymentRow): PaymentJson => ({
  id: p.id,
  orderId: p.order_id,
  amount: Number(p.amount),
  status: p.status,
  createdAt: p.created_at.toISOString(),
  settledAt: p.settled_at ? p.settled_at.toISOString() : null,
});

/**
 * Payments for orders: pending → succeeded | failed. Both operations lock the
 * order row first (the same lock order everywhere, so they cannot deadlock)
 * and then re-check state under the lock, which makes double submits answer 409.
 */
@Injectable()
export class PaymentsService {
  constructor(
    private readonly transactions: TransactionRunner,
    private readonly orders: OrdersService,
    private readonly events: DomainEvents,
  ) {}

  /** The owner starts paying a placed order; the amount must be the order's total. */
  create(userId: string, orderId: string, amount: number): Promise<PaymentJson> {
    return this.transactions.run(async (tx) => {
      const order = await this.orders.lock(tx, orderId, userId);
      if (order.status !== 'placed')
        throw conflict(`Order #${order.id} is ${order.status}; only a placed order can be paid`);
      const pending: unknown[] = await tx.manager.query(
        `SELECT 1 FROM payments WHERE order_id = $1 AND status = 'pending'`,
        [order.id],
      );
      if (pending.length > 0) throw conflict(`Order #${order.id} already has a pending payment`);
      if (amount !== Number(order.total)) throw invalid(`amount must equal the order's total (${order.total})`);
      const [payment]: PaymentRow[] = await tx.manager.query(
        `INSERT INTO payments (order_id, amount) VALUES ($1, $2) RETURNING ${PAYMENT_COLUMNS}`,
        [order.id, amount],
      );
      await this.events.emit(tx, [
        {
          type: 'payment.pending',
          recipient: order.user_id,
          payload: { paymentId: payment.id, orderId: order.id, amount },
        },
      ]);
      return toJson(payment);
    });
  }

  /**
   * The outcome of a pending payment, as a payment provider would report it.
   * Today an admin route calls this; a provider's webhook handler (after
   * checking the request's signature, keyed by the provider's payment id)
   * would call exactly this instead. Settling twice: 409, one notification.
   * A success marks the order paid in the same transaction (payment.succeeded
   * and order.paid); if the order was cancelled meanwhile, 409 and nothing changes.
   */
  settle(paymentId: string, outcome: SettleOutcome): Promise<PaymentJson> {
    return this.transactions.run(async (tx) => {
      const found: Array<{ order_id: string }> = await tx.manager.query(
        `SELECT order_id::text AS order_id FROM payments WHERE id = $1`,
        [paymentId],
      );
      if (found.length === 0) throw notFound('Payment not found');
      const order = await this.orders.lock(tx, found[0].order_id);
      // Under the order's lock no other settle of this payment can run; the
      // status condition is what turns the second of two submits into a 409.
      const settled: PaymentRow[] = await tx.manager.query(
        `WITH s AS (
           UPDATE payments SET status = $2, settled_at = now() WHERE id = $1 AND status = 'pending' RETURNING *
         ) SELECT ${PAYMENT_COLUMNS} FROM s`,
        [paymentId, outcome],
      );
      if (settled.length === 0) throw conflict(`Payment ${paymentId} is already settled`);
      const payment = settled[0];
      const payload = { paymentId: payment.id, orderId: order.id, amount: Number(payment.amount) };
      if (outcome === 'failed') {
        await this.events.emit(tx, [{ type: 'payment.failed', recipient: order.user_id, payload }]);
      } else {
        await this.orders.transition(tx, order, 'paid', null);
        await this.events.emit(tx, [
          { type: 'payment.succeeded', recipient: order.user_id, payload },
          {
            type: 'order.paid',
            recipient: order.user_id,
            payload: { orderId: order.id, total: Number(order.total), paymentId: payment.id },
          },
        ]);
      }
      return toJson(payment);
    });
  }
}
