import { Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import calculateSlot from 'cluster-key-slot';
import { Cluster } from 'ioredis';
import { randomBytes } from 'node:crypto';
import type { Tx } from '../../database/transaction.js';
import { AfterCommitAnnouncer } from './after-commit.js';
import { BusMessage, CHECK_INTERVAL_MS, CHECK_TIMEOUT_MS, answersWithin } from './notification-bus.js';
import { RedisFamilyBus, backoff, redisChannel } from './redis.bus.js';

/** Channels of the bus: every instance subscribes to all, each message goes to the next one in turn. */
export const CLUSTER_CHANNELS = 16;
const SLOTS = 16384;
/** While a channel is not known to work: check again this soon, and give an echo this long. */
const RECHECK_MS = 250;
const RECHECK_TIMEOUT_MS = 1000;
/** A liveness echo: not JSON, so no instance mistakes it for a message. */
const PING = 'ping:';

/**
 * The bus's channels, one in each sixteenth of the hash-slot space (a {hash
 * tag} picks the slot), so that masters owning contiguous slot ranges, as
 * `redis-cli --cluster create` and managed clusters lay them out, each serve
 * their share of the messages. The same on every instance of a deployment.
 */
export function clusterChannels(databaseUrl: string, count = CLUSTER_CHANNELS): string[] {
  const base = redisChannel(databaseUrl);
  return Array.from({ length: count }, (_, k) => {
    const [from, to] = [Math.floor((k * SLOTS) / count), Math.floor(((k + 1) * SLOTS) / count)];
    for (let tag = 0; ; tag++) {
      const slot = calculateSlot(`{${tag}}`);
      if (slot >= from && slot < to) return `${base}#${k}{${tag}}`;
    }
  });
}

/**
 * The bus through a Redis Cluster's sharded pub/sub (REDIS_CLUSTER_NODES):
 * SPUBLISH goes to the master owning the channel's slot (and its replicas),
 * which passes it to the subscribers of that shard only, so messages spread
 * over the shards instead of crossing the whole cluster as PUBLISH does.
 * ioredis' Cluster client (shardedSubscribers) keeps one subscriber
 * connection per master and moves subscriptions when slots move or a replica
 * takes over.
 *
 * Order across channels is not kept, and need not be: a feed uses a message's
 * rows when nothing is missing before them and holds them for the reorder
 * window otherwise (BusRouter); a gap still open then is read from the table.
 * What a shard loses (a master killed between SPUBLISH and delivery, the
 * seconds before its replica takes over) is such a gap, or is found by the
 * catch-up read when the subscription is whole again.
 *
 * Whether it is whole is asked, not assumed: every check publishes an echo on
 * every channel and waits for all of them. Until they all come back (at boot,
 * after a lost node or subscriber connection, a failover, a silent
 * unsubscribe) /health answers 503; once they do, reconnected$ fires and the
 * feed catches up from the table. A channel whose echo is published but never
 * heard is subscribed again.
 */
@Injectable()
export class RedisClusterBus extends RedisFamilyBus implements OnModuleInit, OnApplicationShutdown {
  readonly name = 'redis-cluster';
  protected readonly downMessage = 'a Redis Cluster channel does not answer';
  readonly channels: readonly string[] = clusterChannels(this.databaseUrl);
  private readonly ours: ReadonlySet<string> = new Set(this.channels);
  private readonly cluster = new Cluster([...this.config.redisClusterNodes!], {
    shardedSubscribers: true,
    lazyConnect: true,
    clusterRetryStrategy: backoff,
    // Topology news without waiting for a MOVED answer (a resharding moves slots silently).
    slotsRefreshInterval: CHECK_INTERVAL_MS,
    redisOptions: { connectionName: 'notifications-bus', keepAlive: 10_000, connectTimeout: 5000 },
  });
  private stopping = false;
  private readonly announcer = new AfterCommitAnnouncer(
    (message) => this.publish(message),
    () => this.cluster.status === 'ready' && !this.stopping,
  );
  /** Channels whose SSUBSCRIBE ioredis accepted (it resubscribes them itself after a topology change). */
  private readonly accepted = new Set<string>();
  /** Every channel echoed the last check: messages reach this instance. */
  private verified = false;
  private next = 0;
  private readonly nonce = `${PING}${randomBytes(6).toString('base64url')}:`;
  private checkSeq = 0;
  private readonly echoes = new Map<string, () => void>();
  private checkTimer: NodeJS.Timeout | null = null;
  private checking = false;

  async onModuleInit(): Promise<void> {
    this.cluster.on('error', (err: Error) => this.connectionError('Redis Cluster', err));
    this.cluster.on('node error', (err: Error, node: string) =>
      this.connectionError(`Redis Cluster node ${node}`, err),
    );
    this.cluster.on('smessage', (channel: string, payload: string) => this.heard(channel, payload));
    // A node or subscriber connection gone: messages may be lost until the echoes say otherwise.
    for (const event of ['-node', '-subscriber', 'close']) this.cluster.on(event, () => this.lost());
    // Connected, or subscribers moved: check at once rather than at the next round.
    for (const event of ['ready', 'subscribersReady']) this.cluster.on(event, () => this.checkSoon());
    this.cluster.on('ready', () => this.connectionBack());
    // connect() rejects on a failed first attempt, but clusterRetryStrategy keeps trying.
    this.cluster.connect().catch(() => undefined);
    await this.bootWait('REDIS_CLUSTER_NODES');
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    if (this.checkTimer) clearTimeout(this.checkTimer);
    // Let queued publishes (a revocation, say) go out if the cluster is there.
    await Promise.race([this.cluster.quit().catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
    this.cluster.disconnect();
  }

  announceCommitted(tx: Tx, upTo: string, messages: string[]): void {
    this.announcer.announce(tx, upTo, messages);
  }

  /** A channel whose shard is failing over does not hold a revocation up: the next channel takes it. */
  async send(message: Exclude<BusMessage, { t: 'committed' }>): Promise<void> {
    const payload = JSON.stringify(message);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.publish(payload);
        return;
      } catch (err) {
        if (attempt === 3) throw err;
      }
    }
  }

  protected get connected(): boolean {
    return this.verified && this.cluster.status === 'ready';
  }

  /** To the next channel in turn: the load spreads over every shard. */
  private publish(payload: string): Promise<unknown> {
    const channel = this.channels[this.next++ % this.channels.length];
    return this.cluster.spublish(channel, payload);
  }

  private heard(channel: string, payload: string): void {
    if (!this.ours.has(channel)) return;
    if (payload.startsWith(PING)) this.echoes.get(payload)?.();
    else this.received(payload);
  }

  private lost(): void {
    if (this.stopping || !this.verified) return;
    this.logger.warn('Redis Cluster: a node or subscriber connection was lost; checking every channel');
    this.verified = false;
    this.schedule(0);
  }

  private checkSoon(): void {
    if (!this.verified) this.schedule(0);
  }

  private schedule(ms = this.verified ? CHECK_INTERVAL_MS : RECHECK_MS): void {
    if (this.stopping) return;
    if (this.checkTimer) clearTimeout(this.checkTimer);
    this.checkTimer = setTimeout(() => void this.check(), ms);
    this.checkTimer.unref();
  }

  /** An echo on every channel: all heard, the bus works; one published but not heard, that channel is subscribed again. */
  private async check(): Promise<void> {
    if (this.checking || this.stopping) return;
    this.checking = true;
    try {
      if (this.cluster.status !== 'ready') return;
      await this.subscribeMissing();
      const seq = ++this.checkSeq;
      const timeout = this.verified ? CHECK_TIMEOUT_MS : RECHECK_TIMEOUT_MS;
      const answers = await Promise.all(this.channels.map((c, k) => this.echo(c, `${this.nonce}${seq}:${k}`, timeout)));
      if (answers.every((a) => a === 'heard')) return this.confirmed();
      if (this.verified) {
        const failing = answers.filter((a) => a !== 'heard').length;
        this.logger.warn(`Redis Cluster: ${failing} of ${answers.length} channels did not answer; checking again`);
      }
      this.verified = false;
      for (const [k, answer] of answers.entries()) if (answer === 'unheard') void this.resubscribe(this.channels[k]);
    } finally {
      this.checking = false;
      this.schedule();
    }
  }

  private async subscribeMissing(): Promise<void> {
    await Promise.all(
      this.channels
        .filter((c) => !this.accepted.has(c))
        .map((c) =>
          answersWithin(this.cluster.ssubscribe(c), RECHECK_TIMEOUT_MS).then(
            () => this.accepted.add(c),
            (err: Error) => this.connectionError('Redis Cluster SSUBSCRIBE', err),
          ),
        ),
    );
  }

  private async resubscribe(channel: string): Promise<void> {
    await this.cluster.sunsubscribe(channel).catch(() => undefined);
    await this.cluster.ssubscribe(channel).catch(() => this.accepted.delete(channel));
  }

  /** 'heard': published and received; 'unheard': published, never received; 'unpublished': the shard refused or is away. */
  private async echo(
    channel: string,
    payload: string,
    timeoutMs: number,
  ): Promise<'heard' | 'unheard' | 'unpublished'> {
    let published = false;
    const heard = new Promise<void>((resolve) => this.echoes.set(payload, resolve));
    try {
      const sent = this.cluster.spublish(channel, payload).then(() => (published = true));
      await answersWithin(Promise.all([sent, heard]), timeoutMs);
      return 'heard';
    } catch {
      return published ? 'unheard' : 'unpublished';
    } finally {
      this.echoes.delete(payload);
    }
  }

  private confirmed(): void {
    if (this.verified) return;
    this.verified = true;
    this.announcer.flush();
    this.subscribed('Redis Cluster subscription');
  }
}
