import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../../../config/config.module.js';
import type { AppConfig } from '../../../config/env.js';
import { localized, type Translations } from '../../../notifications/notification.types.js';
import { Outbound } from '../../../outbound/outbound.module.js';
import {
  type DeliveryBatch,
  type DeliveryMethodPlugin,
  type SendOutcome,
  TransientError,
} from '../../port/delivery-method.js';
import { ChatDestinations } from './chat-destinations.js';
import { chatMessage } from './chat-formats.js';
import { postChat } from './chat-webhook.js';

/** What one run's notifications need to become a chat message. */
export interface ChatRow {
  readonly id: string;
  readonly title: string;
  readonly body: string;
  /** A broadcast's texts per locale (NotificationRow's); absent: none. */
  readonly translations?: Translations | null;
}

/** What a run came to, over all of the user's destinations. */
export type ChatRunOutcome =
  | { readonly status: 'sent' }
  | { readonly status: 'failed'; readonly error: string }
  /** Some destination should get it later: at `retryAfterMs` at the soonest (a 429), else by backoff. */
  | { readonly status: 'retry'; readonly error: string; readonly retryAfterMs?: number };

/**
 * Chat (Slack, Discord, Teams incoming webhooks) as a delivery method. One message per run per
 * destination: the run's notifications (one, or a digest of several) go to each of the user's
 * chat destinations (POST /contacts/chat); sent once every destination took it or failed for good. A destination that took them is remembered
 * (chat_destination_sent) until every destination is done, so a retry for a destination that
 * answered 429 or 5xx does not post twice to one that answered 200. A 429 pauses the
 * destination until its Retry-After; 404/410 removes it (the webhook is gone).
 */
@Injectable()
export class ChatMethod implements DeliveryMethodPlugin {
  readonly method = 'chat';
  readonly grouping = 'digest';
  readonly contactNeededToEnable = 'needs a chat destination (POST /contacts/chat)';
  private readonly logger = new Logger('Chat');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly db: DataSource,
    private readonly outbound: Outbound,
    private readonly destinations: ChatDestinations,
  ) {}

  hasContactSql(userId: string): string {
    return `EXISTS (SELECT 1 FROM chat_destinations cd WHERE cd.user_id = ${userId})`;
  }

  async send({ userId, rows, signal }: DeliveryBatch): Promise<SendOutcome> {
    const outcome = await this.run(userId, rows, signal);
    // Not a worker held for a 429's wait: the sender schedules the retry for then.
    if (outcome.status === 'retry') throw new TransientError(outcome.error, outcome.retryAfterMs);
    return outcome;
  }

  /** One run to every destination of the user. */
  async run(userId: string, rows: readonly ChatRow[], signal?: AbortSignal): Promise<ChatRunOutcome> {
    const destinations = await this.destinations.toSend(userId);
    if (destinations.length === 0) return { status: 'failed', error: 'no chat destination' };
    const [user]: Array<{ locale: string }> = await this.db.query(`SELECT locale FROM users WHERE id = $1`, [userId]);
    const locale = user?.locale ?? 'en';
    const ids = rows.map((r) => r.id);
    const done: Array<{ destination_id: string; notification_id: string }> = await this.db.query(
      `SELECT destination_id::text, notification_id::text FROM chat_destination_sent
        WHERE destination_id = ANY ($1::bigint[]) AND notification_id = ANY ($2::bigint[])`,
      [destinations.map((d) => d.id), ids],
    );
    const already = new Set(done.map((d) => `${d.destination_id}:${d.notification_id}`));

    let sent = 0;
    const tookNow: Array<{ destination: string; ids: string[] }> = [];
    const errors: string[] = [];
    // A destination to try again: the first reason, and the soonest 429 pause (the sender waits
    // at least its backoff anyway).
    let pendingError: string | null = null;
    let pendingAt: number | null = null;
    const wait = (error: string, at?: number) => {
      pendingError ??= error;
      if (at !== undefined) pendingAt = Math.min(pendingAt ?? at, at);
    };

    for (const d of destinations) {
      const todo = rows.filter((r) => !already.has(`${d.id}:${r.id}`));
      if (todo.length === 0) {
        sent++;
        continue;
      }
      if (d.pausedUntil && d.pausedUntil.getTime() > Date.now()) {
        wait('waiting for the chat service (429)', d.pausedUntil.getTime());
        continue;
      }
      if (d.target instanceof Error) {
        errors.push(d.target.category);
        continue;
      }
      const answer = await postChat(
        this.outbound,
        d.target,
        chatMessage(d.kind, {
          items: [...todo].reverse().map((r) => localized(r, locale)),
          inboxUrl: `${this.config.delivery.publicUrl}/`,
          locale,
        }),
        signal,
      );
      switch (answer.outcome) {
        case 'sent':
          sent++;
          tookNow.push({ destination: d.id, ids: todo.map((r) => r.id) });
          break;
        case 'gone':
          // The webhook was deleted or its channel archived: it will never take a message again.
          await this.destinations.drop(d.id);
          this.logger.log(`Chat destination ${d.id} removed: ${answer.error}`);
          errors.push(`${answer.error}: destination removed`);
          break;
        case 'wait':
          await this.destinations.pause(d.id, new Date(answer.at));
          wait(answer.error, answer.at);
          break;
        case 'transient':
          wait(answer.error);
          break;
        case 'refused':
          errors.push(answer.error);
          break;
      }
    }

    if (pendingError !== null) {
      for (const t of tookNow) {
        await this.db.query(
          `INSERT INTO chat_destination_sent (destination_id, notification_id)
           SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING`,
          [t.destination, t.ids],
        );
      }
      const retryAfterMs = pendingAt === null ? undefined : Math.max(0, pendingAt - Date.now());
      return { status: 'retry', error: pendingError, retryAfterMs };
    }
    if (done.length > 0) {
      await this.db.query(`DELETE FROM chat_destination_sent WHERE notification_id = ANY ($1::bigint[])`, [ids]);
    }
    return sent > 0 ? { status: 'sent' } : { status: 'failed', error: errors[0] ?? 'no chat destination' };
  }
}
