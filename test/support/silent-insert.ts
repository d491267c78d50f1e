import type pg from 'pg';
import { ID_ORDER_LOCK } from '../../src/notifications/notification.publisher.js';

/**
 * Commits a notification with no bus message at all, as if its message had
 * been lost, keeping the id order the publisher keeps (same advisory lock).
 * Only a feed that reads the table (after a bus reconnect) can deliver it.
 */
export async function insertUnannounced(db: pg.Pool, userId: string, title = 'Unannounced'): Promise<string> {
  const c = await db.connect();
  try {
    await c.query('BEGIN');
    await c.query('SELECT pg_advisory_xact_lock($1)', [ID_ORDER_LOCK]);
    const { rows } = await c.query(
      `INSERT INTO notifications (user_id, channel, type, severity, title, body, data)
       VALUES ($1, 'order', 'order.placed', 'info', $2, 'b', '{}') RETURNING id`,
      [userId, title],
    );
    await c.query('COMMIT');
    return String(rows[0].id);
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}
