import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { conflict, notFound } from '../common/domain-error.js';
import { type Tx, TransactionRunner } from '../database/transaction.js';
import type { PersonalEvent } from '../events/domain-events.js';
import { Batcher } from '../common/batcher.js';
import { ALONG_ID, DomainEvents } from '../events/domain-events.service.js';
import { type AdminTargetStatus, canTransition, type OrderStatus } from './order-status.js';

export interface OrderItemInput {
  sku: string;
  quantity: number;
  unitPrice: number;
}

/** An orders row as SQL returns it (bigint columns come back as strings). */
export interface OrderRow {
  id: string;
  user_id: string;
  status: OrderStatus;
  total: string;
  created_at: Date;
  updated_at: Date;
}

/** An orders row as placeBatch answers it (as JSON: timestamps are strings). */
type PlacedRow = Omit<OrderRow, 'created_at' | 'updated_at'> & { created_at: string; updated_at: string };

interface PlaceInput {
  userId: string;
  items: OrderItemInput[];
  total: number;
}

/** Orders per statement at most (each up to 100 lines). */
const PLACE_BATCH_MAX = 200;

export interface OrderItemJson extends OrderItemInput {
  lineTotal: number;
}

export interface OrderJson {
  id: string;
  status: OrderStatus;
  items: OrderItemJson[];
  total: number;
  createdAt: string;
  updatedAt: string;
}

/** Ids as text: an ORDER BY must name the table's column (`orders.id`), a bare `id` is this text. */
const ORDER_COLUMNS = `id::text AS id, user_id::text AS user_id, status, total::text AS total, created_at, updated_at`;

@Injectable()
export class OrdersService {
  constructor(
    private readonly db: DataSource,
    private readonly transactions: TransactionRunner,
    private readonly events: DomainEvents,
  ) {}

  /**
   * The total is computed here from the lines; the client never sends one. The
   * order, its lines, its first status change and its notification are written
   * by one statement, atomic by itself, shared with the orders placed at the
   * same moment (group commit, see `placeBatch`).
   */
  async place(userId: string, items: OrderItemInput[]): Promise<OrderJson> {
    const total = items.reduce((sum, i) => sum + i.quantity * i.unitPrice, 0);
    const order = await this.placing.load({ userId, items, total });
    // The answer is built from the lines as given, which are exactly what was stored.
    return {
      id: order.id,
      status: order.status,
      items: items.map((i) => ({
        sku: i.sku,
        quantity: i.quantity,
        unitPrice: i.unitPrice,
        lineTotal: i.quantity * i.unitPrice,
      })),
      total: Number(order.total),
      createdAt: new Date(order.created_at).toISOString(),
      updatedAt: new Date(order.updated_at).toISOString(),
    };
  }

  /**
   * Orders placed while the previous batch commits go out together, in one
   * statement: every publishing statement holds the id-ordering lock until
   * its commit has been flushed to disk, so one order per statement would
   * serialise the orders on the disk's flush time (≈ 130/s on the benchmark
   * machine), whatever the CPU. A batch fails as a whole (the database is
   * away, or a constraint refuses a row): nothing of it is written.
   */
  private readonly placing = new Batcher<PlaceInput, PlacedRow>((batch) => this.placeBatch(batch), {
    maxBatch: PLACE_BATCH_MAX,
  });

  /** Statements that placed orders so far (fewer than orders under load; the tests read it). */
  get placeStatements(): number {
    return this.placing.batches;
  }

  private async placeBatch(batch: PlaceInput[]): Promise<PlacedRow[]> {
    const lines = batch.flatMap((o, i) =>
      o.items.map((item, position) => ({ ord: i + 1, position: position + 1, item })),
    );
    const { along } = await this.events.emitAlong<PlacedRow>(
      {
        // Ids are drawn first (in `ord` order), so lines and notifications can name their order.
        ctes: `input AS MATERIALIZED (
            SELECT nextval(pg_get_serial_sequence('orders', 'id')) AS id, x.user_id, x.total, x.ord
              FROM unnest($1::bigint[], $2::bigint[]) WITH ORDINALITY AS x(user_id, total, ord)),
          o AS (INSERT INTO orders (id, user_id, total) SELECT id, user_id, total FROM input ORDER BY ord RETURNING *),
          lines AS (
            INSERT INTO order_items (order_id, position, sku, quantity, unit_price)
            SELECT input.id, l.position, l.sku, l.quantity, l.unit_price
              FROM unnest($3::bigint[], $4::integer[], $5::text[], $6::integer[], $7::bigint[])
                   AS l(ord, position, sku, quantity, unit_price)
              JOIN input ON input.ord = l.ord),
          placed AS (
            INSERT INTO order_status_changes (order_id, status, changed_by) SELECT id, 'placed', user_id FROM input),
          domain AS (SELECT ${ORDER_COLUMNS}, ord FROM o JOIN (SELECT id, ord FROM input) i USING (id))`,
        params: [
          batch.map((o) => o.userId),
          batch.map((o) => o.total),
          lines.map((l) => l.ord),
          lines.map((l) => l.position),
          lines.map((l) => l.item.sku),
          lines.map((l) => l.item.quantity),
          lines.map((l) => l.item.unitPrice),
        ],
      },
      batch.map((o, i) => ({
        type: 'order.placed' as const,
        recipient: o.userId,
        payload: { orderId: ALONG_ID, total: o.total, itemCount: o.items.length },
        along: i + 1,
      })),
    );
    return along;
  }

  /** The user's own orders, newest first, keyset-paginated by id. */
  async list(
    userId: string,
    q: { limit: number; before?: string },
  ): Promise<{ items: OrderJson[]; nextBefore: string | null }> {
    const rows: OrderRow[] = await this.db.query(
      `SELECT ${ORDER_COLUMNS} FROM orders
        WHERE user_id = $1 AND ($2::bigint IS NULL OR id < $2::bigint)
        ORDER BY orders.id DESC LIMIT $3`,
      [userId, q.before ?? null, q.limit + 1],
    );
    const page = rows.slice(0, q.limit);
    return {
      items: await this.toJson(this.db.manager, page),
      nextBefore: rows.length > q.limit ? page[page.length - 1].id : null,
    };
  }

  /** One of the user's own orders; someone else's is 404, as if it did not exist. */
  async get(userId: string, orderId: string): Promise<OrderJson> {
    const rows: OrderRow[] = await this.db.query(`SELECT ${ORDER_COLUMNS} FROM orders WHERE id = $1 AND user_id = $2`, [
      orderId,
      userId,
    ]);
    if (rows.length === 0) throw notFound('Order not found');
    return (await this.toJson(this.db.manager, rows))[0];
  }

  /**
   * Locks the order row until the transaction ends, so concurrent transitions
   * of one order run one after the other and each sees the status the previous
   * one left: a double submit finds the order already moved and gets 409.
   * With `ownerId`, another user's order is 404.
   */
  async lock(tx: Tx, orderId: string, ownerId?: string): Promise<OrderRow> {
    const rows: OrderRow[] = await tx.manager.query(
      `SELECT ${ORDER_COLUMNS} FROM orders WHERE id = $1 AND ($2::bigint IS NULL OR user_id = $2::bigint) FOR UPDATE`,
      [orderId, ownerId ?? null],
    );
    if (rows.length === 0) throw notFound('Order not found');
    return rows[0];
  }

  /**
   * Moves a locked order along the state machine and records the change; 409
   * (before anything is written) when the machine forbids it. The caller emits
   * the matching event last in the same transaction.
   */
  async transition(tx: Tx, order: OrderRow, to: OrderStatus, actorId: string | null): Promise<OrderRow> {
    if (!canTransition(order.status, to)) {
      throw conflict(`Order #${order.id} is ${order.status}; it cannot become ${to}`);
    }
    // The status condition repeats the lock's guarantee in the statement itself; the change is
    // recorded by the same statement (only if the update happened), one round trip.
    // (A CTE, because TypeORM answers a bare UPDATE … RETURNING with [rows, count].)
    const rows: OrderRow[] = await tx.manager.query(
      `WITH moved AS (
         UPDATE orders SET status = $2, updated_at = now() WHERE id = $1 AND status = $3 RETURNING *
       ), recorded AS (
         INSERT INTO order_status_changes (order_id, status, changed_by) SELECT id, $2::text, $4::bigint FROM moved
       ) SELECT ${ORDER_COLUMNS} FROM moved`,
      [order.id, to, order.status, actorId],
    );
    if (rows.length === 0) throw conflict(`Order #${order.id} changed meanwhile; try again`);
    return rows[0];
  }

  /** Admin: ship, deliver or cancel an order, with the owner's notification. */
  changeStatus(orderId: string, to: AdminTargetStatus, adminId: string): Promise<OrderJson> {
    return this.transactions.run(async (tx) => {
      const before = await this.lock(tx, orderId);
      const after = await this.transition(tx, before, to, adminId);
      const [json] = await this.toJson(tx.manager, [after]);
      await this.events.emit(tx, [statusEvent(before, to)]);
      return json;
    });
  }

  /** Orders with their lines, in one query for the lines of the whole page. */
  private async toJson(manager: EntityManager, orders: OrderRow[]): Promise<OrderJson[]> {
    if (orders.length === 0) return [];
    const lines: Array<{ order_id: string; sku: string; quantity: number; unit_price: string }> = await manager.query(
      `SELECT order_id::text AS order_id, sku, quantity, unit_price::text AS unit_price
         FROM order_items WHERE order_id = ANY ($1::bigint[]) ORDER BY order_items.order_id, position`,
      [orders.map((o) => o.id)],
    );
    const byOrder = new Map<string, OrderItemJson[]>();
    for (const l of lines) {
      const unitPrice = Number(l.unit_price);
      const list = byOrder.get(l.order_id) ?? [];
      list.push({ sku: l.sku, quantity: l.quantity, unitPrice, lineTotal: l.quantity * unitPrice });
      byOrder.set(l.order_id, list);
    }
    return orders.map((o) => ({
      id: o.id,
      status: o.status,
      items: byOrder.get(o.id) ?? [],
      total: Number(o.total),
      createdAt: o.created_at.toISOString(),
      updatedAt: o.updated_at.toISOString(),
    }));
  }
}

/** The owner's notification for an admin transition that has just been allowed. */
function statusEvent(before: OrderRow, to: AdminTargetStatus): PersonalEvent {
  const recipient = before.user_id;
  const orderId = before.id;
  switch (to) {
    case 'shipped':
      return { type: 'order.shipped', recipient, payload: { orderId } };
    case 'delivered':
      return { type: 'order.delivered', recipient, payload: { orderId } };
    case 'cancelled':
      // The state machine allows cancelling only from placed or paid.
      return {
        type: 'order.cancelled',
        recipient,
        payload: { orderId, previousStatus: before.status === 'paid' ? 'paid' : 'placed' },
      };
  }
}
