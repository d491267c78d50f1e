import type { HealthIndicatorResult } from '@nestjs/terminus';
import type { Observable } from 'rxjs';
import type { Tx } from '../../database/transaction.js';
import type { Channel } from '../notification.types.js';

/**
 * What instances tell each other. Notifications themselves never travel on the
 * bus: "committed" only says that ids up to `upTo` exist, and every instance's
 * feed reads them from the database in id order (so a lost or duplicated bus
 * message can delay a delivery, never lose or duplicate one). The other
 * messages carry state that lives outside the notifications table.
 */
export type BusMessage =
  | { t: 'committed'; upTo: string }
  | { t: 'read'; userId: string; ids?: string[]; all?: true; channel?: Channel }
  | { t: 'revoke-session'; sessionId: string }
  | { t: 'revoke-user'; userId: string }
  | { t: 'prefs'; userId: string; muted: Channel[] };

/**
 * How a committed notification reaches every instance's fan-out. Implemented
 * by PgNotifyBus (LISTEN/NOTIFY, the default) and RedisBus (REDIS_URL).
 */
export abstract class NotificationBus {
  /** Messages from every instance, this one included. */
  abstract readonly messages$: Observable<BusMessage>;
  /**
   * Emits after the bus (re)connected: messages may have been missed while it
   * was down, so the feed catches up from the database.
   */
  abstract readonly reconnected$: Observable<void>;

  /**
   * A Postgres NOTIFY channel on which the publishing statement itself may
   * announce its rows (`{"t":"committed","upTo":…}`, delivered on commit): no
   * round trip of its own. Null when the bus announces otherwise.
   */
  abstract readonly statementChannel: string | null;
  /** Announce, from inside the publishing transaction, ids committed with it. */
  abstract announceCommitted(tx: Tx, upTo: string): Promise<void>;
  /** Send a state message to every instance (this one included). */
  abstract send(message: Exclude<BusMessage, { t: 'committed' }>): Promise<void>;
  abstract healthCheck(key: string): Promise<HealthIndicatorResult>;
  abstract readonly name: string;
}
