import type { DeliveryMethod } from '../../../client/wire.js';
import type { NotificationRow } from '../../notifications/notification.types.js';

/**
 * A send that may succeed later (SMTP 4xx, a 429 or 5xx, connection trouble): retried with
 * backoff, up to MAX_ATTEMPTS.
 */
export class TransientError extends Error {
  /** The provider's own wait (a 429's Retry-After), if longer than the backoff. */
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** A refusal for good (SMTP 5xx, a 4xx other than 429): not retried. */
export class PermanentError extends Error {}

/** The account a batch goes to, read with the claim (no lookup per send). */
export interface Recipient {
  email: string;
  /** BCP 47, what the message's words, plurals and money follow. */
  locale: string;
  /** The quiet-hours zone, what dates are shown in (null: UTC). */
  timeZone: string | null;
}

/** One send: a user's due rows of one method, as the plug-in's `grouping` cut them. */
export interface DeliveryBatch<C = unknown> {
  userId: string;
  recipient: Recipient;
  /** What `contactsOf` read for this user; undefined without it, or when it found none. */
  contact?: C;
  /** In id order; one row if the method sends each on its own. */
  rows: NotificationRow[];
  /** The send job's budget: requests still in flight when it fires are cancelled and retried. */
  signal: AbortSignal;
}

/**
 * What a batch came to. A plug-in may also throw TransientError or PermanentError; anything
 * else thrown is logged, recorded as "internal error" and retried.
 */
export type SendOutcome =
  | { status: 'sent' }
  /** For good: recorded with `error` (a category the user may read in the delivery log, never a secret). */
  | { status: 'failed'; error: string };

/**
 * A delivery method: how a notification leaves besides the stream (push, email, sms, chat).
 * Escalation, quiet hours, the preferences, the sender, the sweep, metrics and the delivery log
 * treat every method alike through this; each plug-in lives in `src/delivery/methods/<method>/`
 * and is listed once in `src/delivery/methods/index.ts` (docs/extending.md).
 */
export interface DeliveryMethodPlugin<C = unknown> {
  /** Its name in the registry (`client/registry.ts`), the delivery log, metrics and its queue. */
  readonly method: DeliveryMethod;
  /**
   * How one run's due rows of a user go out: `digest`, all in one message (email, SMS);
   * `each`, one message per notification (push).
   */
  readonly grouping: 'digest' | 'each';
  /**
   * The contact the method sends to, as an SQL boolean over `userId` (an SQL expression, e.g.
   * `n.user_id`): push a subscribed browser, SMS a verified phone, chat a destination. A user
   * without it gets no delivery row at all. null: every user has one (email: the account).
   */
  hasContactSql(userId: string): string | null;
  /**
   * Switching the method on (preferences) without the contact answers 400 with this reason
   * ("needs a verified phone number"). null: allowed, the contact may come later (push).
   */
  readonly contactNeededToEnable: string | null;
  /**
   * Optional: reads the contacts of many users in one statement (a send job claims users in
   * groups), each passed to `send` as `batch.contact`. Without it `send` reads its own.
   */
  contactsOf?(userIds: string[]): Promise<Map<string, C>>;
  /**
   * Sends one batch. Resolves with the outcome, or throws TransientError (retried) or
   * PermanentError (not); the delivery rows are recorded by the caller.
   */
  send(batch: DeliveryBatch<C>): Promise<SendOutcome>;
}
