import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Subscription } from 'rxjs';
import { DataSource } from 'typeorm';
import { JobQueue } from '../delivery/job-queue.js';
import { type Activity, NotificationActivity } from '../notifications/activity.js';
import { messageBody } from './webhook-events.js';

/** The pg-boss queue (created by migration 1797400000000-Webhooks): a job drains one webhook's due messages. */
export const WEBHOOK_QUEUE = 'webhook-deliver';

export interface DrainJob {
  webhookId: string;
}

/** Activity events written in one statement at most. */
const MAX_BATCH = 1000;

/**
 * Turns the core's activity into messages: for each event, one row per enabled webhook
 * subscribed to its type, and a drain job per webhook that got any. Events that arrive while a
 * write is in flight go out together in the next one, so a burst of publishes costs a statement
 * per batch, whatever the number of webhooks, and the publisher never waits for it.
 */
@Injectable()
export class WebhookQueue implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Webhooks');
  private subscription: Subscription | null = null;
  private pending: Array<{ event: Activity; at: Date }> = [];
  private writing: Promise<void> | null = null;

  constructor(
    private readonly db: DataSource,
    private readonly jobs: JobQueue,
    private readonly activity: NotificationActivity,
  ) {}

  onApplicationBootstrap(): void {
    this.subscription = this.activity.activity$.subscribe((event) => this.add(event));
  }

  async onApplicationShutdown(): Promise<void> {
    this.subscription?.unsubscribe();
    // What was emitted before the shutdown is still written.
    while (this.writing) await this.writing;
  }

  private add(event: Activity): void {
    this.pending.push({ event, at: new Date() });
    if (!this.writing) this.writing = this.writeAll();
  }

  /** Until nothing is pending: one statement per batch, started on the next turn so that a burst gathers. */
  private async writeAll(): Promise<void> {
    await new Promise((r) => setImmediate(r));
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, MAX_BATCH);
      try {
        await this.write(batch);
      } catch (err) {
        this.logger.warn(`${batch.length} activity events were not queued for webhooks: ${(err as Error).message}`);
      }
    }
    this.writing = null;
  }

  private async write(batch: Array<{ event: Activity; at: Date }>): Promise<void> {
    const rows: Array<{ webhook_id: string }> = await this.db.query(
      `INSERT INTO webhook_messages (webhook_id, msg_id, event, body, status)
       SELECT w.id, 'msg_' || replace(gen_random_uuid()::text, '-', ''), e.type, e.body, 'pending'
         FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS e(type, body, ord)
         JOIN webhooks w ON w.enabled AND e.type = ANY (w.events)
        ORDER BY e.ord, w.id
       RETURNING webhook_id::text`,
      [batch.map((b) => b.event.type), batch.map((b) => messageBody(b.event, b.at))],
    );
    await this.wake([...new Set(rows.map((r) => r.webhook_id))]);
  }

  /** A drain job for each of these webhooks (its due messages go out). */
  async wake(webhookIds: string[], startAfter?: Date): Promise<void> {
    if (webhookIds.length === 0) return;
    await this.jobs.start();
    await this.jobs.boss.insert(
      webhookIds.map((webhookId) => ({
        name: WEBHOOK_QUEUE,
        data: { webhookId } satisfies DrainJob,
        ...(startAfter ? { startAfter } : {}),
      })),
    );
  }
}
