import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { Redis } from 'ioredis';
import { APP_CONFIG } from '../../config/config.module.js';
import type { AppConfig } from '../../config/env.js';
import { DATABASE_URL } from '../../database/database.module.js';
import type { Tx } from '../../database/transaction.js';
import { MetricsService } from '../../metrics/metrics.service.js';
import { AfterCommitAnnouncer } from './after-commit.js';
import { BusMessage, CHECK_INTERVAL_MS, CHECK_TIMEOUT_MS, NotificationBus, answersWithin } from './notification-bus.js';

/**
 * One channel per database: two deployments (or two test databases) sharing a
 * Redis server must not end each other's streams with a "revoke-user 7".
 */
export function redisChannel(databaseUrl: string): string {
  const u = new URL(databaseUrl);
  return `notifications-bus:${u.hostname}:${u.port || '5432'}${u.pathname}`;
}

/**
 * Redis takes messages of any size, but a subscriber that falls behind on huge
 * ones is cut off (client-output-buffer-limit): rows go in messages of about
 * 64 KB, and a row over 1 MB is read from the table instead.
 */
export const REDIS_MESSAGE_SIZE = { chunkBytes: 64 * 1024, limitBytes: 1024 * 1024 };
/**
 * Instances publish after their commits, so one's message may overtake
 * another's (by as long as a busy process takes to get the CPU back): a gap
 * waits this long for the missing rows before they are read. Only rows behind
 * a gap wait; a real one (a lost message, a rolled-back id) is rare.
 */
export const REDIS_REORDER_WINDOW_MS = 100;

/** Exponential backoff, 100 ms doubling to 5 s, forever. */
export const backoff = (attempt: number): number => Math.min(100 * 2 ** Math.max(0, attempt - 1), 5000);

/** How long boot waits for the first subscription before starting unhealthy. */
const BOOT_WAIT_MS = 3000;
/** Every Redis connection of the buses: connect on demand, retry forever with backoff. */
export const REDIS_OPTIONS = { lazyConnect: true, retryStrategy: backoff, keepAlive: 10_000, connectTimeout: 5000 };

/**
 * A bus on Redis: ioredis reports every failed attempt, logged once per
 * outage; boot waits a moment for the first subscription, then goes on
 * without it (so that a Redis outage cannot keep a fleet from restarting).
 */
export abstract class RedisFamilyBus extends NotificationBus {
  /** Redis announces after commit (see announceCommitted), never inside the statement. */
  readonly statementChannel = null;
  readonly messageSize = REDIS_MESSAGE_SIZE;
  readonly reorderWindowMs = REDIS_REORDER_WINDOW_MS;
  private lastError = '';

  constructor(
    @Inject(APP_CONFIG) protected readonly config: AppConfig,
    @Inject(DATABASE_URL) protected readonly databaseUrl: string,
    health: HealthIndicatorService,
    metrics: MetricsService,
  ) {
    super(health, metrics);
  }

  protected connectionError(label: string, err: Error): void {
    if (err.message !== this.lastError) this.logger.warn(`${label}: ${err.message}`);
    this.lastError = err.message;
  }

  protected connectionBack(): void {
    this.lastError = '';
  }

  /** Resolves once subscribed, or after BOOT_WAIT_MS with an error line naming `variable`. */
  protected async bootWait(variable: string): Promise<void> {
    const timer = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), BOOT_WAIT_MS).unref());
    if (await Promise.race([this.firstSubscription.then(() => true), timer])) return;
    this.logger.error(
      `Redis at ${variable} is unreachable${this.lastError ? ` (${this.lastError})` : ''}: starting without it, ` +
        '/health answers 503 until it connects; notifications still arrive through the database poll (FEED_POLL_MS)',
    );
  }
}

/**
 * The bus through Redis pub/sub (REDIS_URL). Postgres' NOTIFY is not used: the
 * "committed" messages are published after the commit (tx.afterCommit), since
 * Redis cannot take part in the transaction. That is enough because a feed
 * uses a message's rows only when nothing is missing before them and reads
 * the table otherwise (BusRouter), so a late, repeated or lost message delays
 * a delivery at most.
 *
 * Two connections: pub/sub mode takes over a connection, so the subscriber
 * never publishes. After every (re)subscribe reconnected$ fires and the feed
 * catches up from its last seen id; a message published while this instance
 * was not subscribed was committed before, so that read finds its rows.
 * "committed" messages that could not be published while the publisher was
 * disconnected are coalesced into one (the highest id) and sent on reconnect.
 *
 * Unreachable at boot: the instance starts anyway, logs an error, answers 503
 * on /health and keeps retrying (the database poll keeps streams fed
 * meanwhile); it does not exit, so a Redis outage cannot keep a fleet from
 * restarting.
 */
@Injectable()
export class RedisBus extends RedisFamilyBus implements OnModuleInit, OnApplicationShutdown {
  readonly name = 'redis';
  protected readonly downMessage = 'Redis not connected';
  private readonly channel = redisChannel(this.databaseUrl);
  private isSubscribed = false;
  private stopping = false;
  private checkTimer: NodeJS.Timeout | null = null;
  // State messages (revocations, read, prefs) wait in the offline queue while
  // the publisher reconnects; "committed" ones are coalesced instead.
  private readonly publisher = new Redis(this.config.redisUrl!, {
    ...REDIS_OPTIONS,
    connectionName: 'notifications-pub',
    maxRetriesPerRequest: null,
  });
  private readonly announcer = new AfterCommitAnnouncer(
    (message) => this.publisher.publish(this.channel, message),
    () => this.publisher.status === 'ready' && !this.stopping,
  );
  // autoResubscribe off: we subscribe ourselves on every "ready", so we know
  // when the subscription is back and can emit reconnected$ after it.
  private readonly subscriber = new Redis(this.config.redisUrl!, {
    ...REDIS_OPTIONS,
    connectionName: 'notifications-bus',
    autoResubscribe: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
  });

  async onModuleInit(): Promise<void> {
    this.publisher.on('error', (err: Error) => this.connectionError('Redis publisher', err));
    this.subscriber.on('error', (err: Error) => this.connectionError('Redis subscriber', err));
    this.publisher.on('ready', () => {
      this.connectionBack();
      this.announcer.flush();
    });
    this.subscriber.on('ready', () => void this.subscribe());
    this.subscriber.on('close', () => {
      if (this.isSubscribed && !this.stopping) this.logger.warn('Redis subscriber lost; reconnecting');
      this.isSubscribed = false;
    });
    this.subscriber.on('message', (channel: string, payload: string) => {
      if (channel === this.channel) this.received(payload);
    });
    // connect() rejects on a failed first attempt, but retryStrategy keeps trying.
    this.publisher.connect().catch(() => undefined);
    this.subscriber.connect().catch(() => undefined);
    await this.bootWait('REDIS_URL');
    this.checkTimer = setInterval(() => void this.check(), CHECK_INTERVAL_MS);
    this.checkTimer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    if (this.checkTimer) clearInterval(this.checkTimer);
    this.subscriber.disconnect();
    // Let queued publishes (a revocation, say) go out if Redis is there.
    await Promise.race([this.publisher.quit().catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
    this.publisher.disconnect();
  }

  private async subscribe(): Promise<void> {
    try {
      await this.subscriber.subscribe(this.channel);
    } catch (err) {
      // The connection dropped again; the next "ready" retries.
      this.logger.warn(`Redis subscribe failed: ${(err as Error).message}`);
      return;
    }
    this.isSubscribed = true;
    this.subscribed('Redis subscriber');
  }

  private async check(): Promise<void> {
    if (!this.isSubscribed) return;
    try {
      await answersWithin(this.subscriber.ping(), CHECK_TIMEOUT_MS);
    } catch (err) {
      if (this.stopping || !this.isSubscribed) return;
      this.logger.warn(`Redis subscriber failed its liveness check (${(err as Error).message}); reconnecting`);
      this.isSubscribed = false;
      // Drops the socket; retryStrategy reconnects and "ready" resubscribes.
      this.subscriber.disconnect(true);
    }
  }

  announceCommitted(tx: Tx, upTo: string, messages: string[]): void {
    this.announcer.announce(tx, upTo, messages);
  }

  async send(message: Exclude<BusMessage, { t: 'committed' }>): Promise<void> {
    await this.publisher.publish(this.channel, JSON.stringify(message));
  }

  protected get connected(): boolean {
    return this.isSubscribed && this.publisher.status === 'ready';
  }
}
