import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { DATABASE_URL } from '../../database/database.module.js';
import { MetricsService } from '../../metrics/metrics.service.js';
import { BusMessage, CHECK_INTERVAL_MS, CHECK_TIMEOUT_MS, NotificationBus, answersWithin } from './notification-bus.js';

export const PG_CHANNEL = 'notifications_bus';
/** NOTIFY payloads must stay under Postgres' 8000-byte limit. */
export const MAX_PAYLOAD_BYTES = 7900;
/** Rows per NOTIFY: about 6000 bytes, so that a message of short rows plus one long one still fits. */
const CHUNK_BYTES = 6000;

/**
 * The default bus: Postgres LISTEN/NOTIFY. One dedicated connection per
 * instance listens (outside the pool, so it never starves requests). NOTIFY is
 * issued by the publishing statement itself, so Postgres delivers it on commit
 * and in commit order. If the listener dies (error, end, or a failed periodic
 * check for a silently dead socket), it reconnects with backoff and emits
 * reconnected$ so the feed catches up from the database.
 */
@Injectable()
export class PgNotifyBus extends NotificationBus implements OnModuleInit, OnApplicationShutdown {
  readonly name = 'postgres';
  readonly statementChannel = PG_CHANNEL;
  readonly messageSize = { chunkBytes: CHUNK_BYTES, limitBytes: MAX_PAYLOAD_BYTES };
  /** NOTIFYs arrive in commit order: a gap is real, so wait only for this instance's own commit to hand its rows over. */
  readonly reorderWindowMs = 2;
  protected readonly downMessage = 'listener not connected';
  protected connected = false;
  private client: pg.Client | null = null;
  private stopping = false;
  private backoffMs = 100;
  private retryTimer: NodeJS.Timeout | null = null;
  private checkTimer: NodeJS.Timeout | null = null;

  constructor(
    @Inject(DATABASE_URL) private readonly url: string,
    private readonly db: DataSource,
    health: HealthIndicatorService,
    metrics: MetricsService,
  ) {
    super(health, metrics);
  }

  async onModuleInit(): Promise<void> {
    await this.connect();
    this.checkTimer = setInterval(() => void this.check(), CHECK_INTERVAL_MS);
    this.checkTimer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.checkTimer) clearInterval(this.checkTimer);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.url,
      application_name: 'notifications-bus',
      keepAlive: true,
    });
    client.on('notification', (msg) => {
      if (msg.channel === PG_CHANNEL && msg.payload) this.received(msg.payload);
    });
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    try {
      await client.connect();
      await client.query(`LISTEN ${PG_CHANNEL}`);
    } catch (err) {
      this.lost(client, err as Error);
      return;
    }
    if (this.stopping) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.connected = true;
    this.backoffMs = 100;
    this.subscribed('Listener');
  }

  private lost(client: pg.Client, err: Error): void {
    if (this.client !== null && this.client !== client) return;
    if (this.client === client) this.client = null;
    const wasConnected = this.connected;
    this.connected = false;
    client.removeAllListeners('end');
    client.removeAllListeners('notification');
    client.on('error', () => undefined);
    void client.end().catch(() => undefined);
    if (this.stopping || this.retryTimer) return;
    if (wasConnected) this.logger.warn(`Listener lost: ${err.message}`);
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, 5000);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.connect();
    }, delay);
    this.retryTimer.unref();
  }

  private async check(): Promise<void> {
    const client = this.client;
    if (!client) return;
    try {
      await answersWithin(client.query('SELECT 1'), CHECK_TIMEOUT_MS);
    } catch (err) {
      this.lost(client, err as Error);
    }
  }

  /** Never called: the publishing statement NOTIFYs (statementChannel). */
  announceCommitted(): void {}

  async send(message: Exclude<BusMessage, { t: 'committed' }>): Promise<void> {
    const payload = JSON.stringify(message);
    if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES) throw new Error('Bus message too large');
    await this.db.query(`SELECT pg_notify($1, $2)`, [PG_CHANNEL, payload]);
  }
}
