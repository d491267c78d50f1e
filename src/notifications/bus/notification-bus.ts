import { Logger } from '@nestjs/common';
import type { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { Subject } from 'rxjs';
import type { Tx } from '../../database/transaction.js';
import type { MetricsService } from '../../metrics/metrics.service.js';
import type { Channel, StatePayload } from '../notification.types.js';
import { type CommittedMessage, committedHeader, type MessageSize } from './committed-message.js';

/**
 * What instances tell each other. "committed" carries the rows one publishing
 * statement committed (or, when they do not fit, says that ids up to `upTo`
 * exist); each feed uses the rows when nothing is missing before them and
 * reads the table otherwise, so a lost, late or repeated message can delay a
 * delivery, never lose or duplicate one (see NotificationFeed). The other
 * messages carry state that lives outside the notifications table.
 */
export type BusMessage =
  | CommittedMessage
  | { t: 'read'; userId: string; ids?: string[]; all?: true; channel?: Channel; before?: string }
  | { t: 'state'; userId: string; payload: StatePayload }
  | { t: 'unsnoozed'; userId: string; ids: string[] }
  | { t: 'revoke-session'; sessionId: string }
  | { t: 'revoke-user'; userId: string }
  /** `locale`: set when it changed (which translation of a broadcast the user's open streams show). */
  | { t: 'prefs'; userId: string; muted: Channel[]; locale?: string };

/**
 * How a committed notification reaches every instance's fan-out. Implemented
 * by PgNotifyBus (LISTEN/NOTIFY, the default) and RedisBus (REDIS_URL).
 *
 * The plumbing every bus shares lives here: messages arrive as payloads
 * (`received`), a (re)established subscription is announced (`subscribed`),
 * and health is up or down by `connected`.
 */
export abstract class NotificationBus {
  abstract readonly name: string;
  protected readonly logger: Logger;
  private readonly incoming = new Subject<BusMessage>();
  private readonly reconnects = new Subject<void>();
  private everSubscribed = false;
  /** Resolves at the first subscription. */
  protected readonly firstSubscription: Promise<void>;
  private resolveFirst!: () => void;

  /** Messages from every instance, this one included. */
  readonly messages$ = this.incoming.asObservable();
  /**
   * Emits after the bus (re)connected: messages may have been missed while it
   * was down, so the feed catches up from the database.
   */
  readonly reconnected$ = this.reconnects.asObservable();

  protected constructor(
    private readonly health: HealthIndicatorService,
    protected readonly metrics: MetricsService,
  ) {
    this.logger = new Logger(this.constructor.name);
    this.firstSubscription = new Promise((resolve) => (this.resolveFirst = resolve));
  }

  /**
   * A Postgres NOTIFY channel on which the publishing statement itself
   * announces its rows (delivered on commit): no round trip of its own. Null
   * when the bus publishes the statement's messages after the commit
   * (announceCommitted).
   */
  abstract readonly statementChannel: string | null;
  /** How the publishing statement cuts its rows into "committed" messages. */
  abstract readonly messageSize: MessageSize;
  /**
   * How long a feed waits for the rows of a gap before it reads them: where
   * messages of several instances (or channels) race, a later batch may
   * arrive a moment before an earlier one.
   */
  abstract readonly reorderWindowMs: number;
  /** A bus without statementChannel: publish the statement's messages once `tx` commits. */
  abstract announceCommitted(tx: Tx, upTo: string, messages: string[]): void;
  /** Send a state message to every instance (this one included). */
  abstract send(message: Exclude<BusMessage, { t: 'committed' }>): Promise<void>;
  /** Whether messages reach this instance now (health answers 503 otherwise). */
  protected abstract get connected(): boolean;
  /** What /health says while not connected. */
  protected abstract readonly downMessage: string;

  async healthCheck(key: string): Promise<HealthIndicatorResult> {
    const indicator = this.health.check(key);
    return this.connected
      ? indicator.up({ bus: this.name })
      : indicator.down({ bus: this.name, message: this.downMessage });
  }

  /** A message off the wire: passed on, or dropped with a warning when malformed. */
  protected received(payload: string): void {
    // Rows are parsed only where they are used (rowsOf).
    let message: BusMessage | null = committedHeader(payload);
    if (message) return this.incoming.next(message);
    try {
      message = JSON.parse(payload) as BusMessage;
    } catch {
      this.logger.warn('Ignored a malformed bus message');
      return;
    }
    this.incoming.next(message);
  }

  /** The subscription is (back) in place: whatever was published meanwhile is read from the database. */
  protected subscribed(what: string): void {
    this.resolveFirst();
    if (this.everSubscribed) {
      this.logger.log(`${what} reconnected`);
      this.metrics.busReconnects.inc({ bus: this.name });
    }
    this.everSubscribed = true;
    this.reconnects.next();
  }
}

/** Liveness checks: a socket can die without an error event (a dropped route), so ask it, with a deadline. */
export async function answersWithin<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('liveness check timed out')), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** How often a bus asks its connection whether it still answers, and how long it waits. */
export const CHECK_INTERVAL_MS = 5000;
export const CHECK_TIMEOUT_MS = 3000;
