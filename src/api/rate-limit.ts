import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type { Response } from 'express';
import { Cluster, Redis } from 'ioredis';
import pg from 'pg';
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterPostgres,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible';
import { DomainError } from '../common/domain-error.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/env.js';
import { DATABASE_URL } from '../database/database.module.js';

/** The policy's name in the RateLimit headers. */
const POLICY = '"default"';

/**
 * API_RATE_PER_SECOND per API key, counted across instances in the store the
 * service already runs: Redis (or the Redis Cluster) when the bus uses it,
 * else PostgreSQL (one upsert per request). Should the store fail, each
 * instance counts on its own for the while (the insurance limiter) rather
 * than refusing or letting everything through.
 *
 * Answers carry the IETF RateLimit fields (draft-ietf-httpapi-ratelimit-headers):
 * `RateLimit-Policy: "default";q=50;w=1` and `RateLimit: "default";r=<left>;t=<seconds to reset>`;
 * a 429 also `Retry-After`.
 */
@Injectable()
export class ApiRateLimit implements OnApplicationShutdown {
  private readonly logger = new Logger('ApiRateLimit');
  private readonly limiter: RateLimiterAbstract;
  private readonly redis: Redis | Cluster | null = null;
  private readonly pool: pg.Pool | null = null;
  private readonly policy: string;

  constructor(
    @Inject(DATABASE_URL) databaseUrl: string,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    const points = config.api.ratePerSecond;
    this.policy = `${POLICY};q=${points};w=1`;
    const common = {
      points,
      duration: 1,
      keyPrefix: 'api-rate',
      insuranceLimiter: new RateLimiterMemory({ points, duration: 1, keyPrefix: 'api-rate' }),
    };
    if (config.redisUrl || config.redisClusterNodes) {
      const options = { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectionName: 'notifications-rate' };
      this.redis = config.redisUrl
        ? new Redis(config.redisUrl, options)
        : new Cluster([...config.redisClusterNodes!], { enableOfflineQueue: false, redisOptions: options });
      this.redis.on('error', (err: Error) => this.logger.warn(`Redis: ${err.message}`));
      this.limiter = new RateLimiterRedis({ ...common, storeClient: this.redis });
    } else {
      // Every request of a key updates one row: with a commit that waited for its fsync, the
      // row's lock would serialise the key's requests at the disk's flush rate. A counter need
      // not survive a crash, so its pool commits without waiting (synchronous_commit off).
      this.pool = new pg.Pool({
        connectionString: databaseUrl,
        max: 4,
        connectionTimeoutMillis: 5000,
        application_name: 'notifications-rate',
        options: '-c synchronous_commit=off',
      });
      this.pool.on('error', (err: Error) => this.logger.warn(`Rate store: ${err.message}`));
      this.limiter = new RateLimiterPostgres({
        ...common,
        storeClient: this.pool,
        storeType: 'pool',
        tableName: 'api_rate_limits',
        tableCreated: true,
      });
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.redis?.quit().catch(() => undefined);
    await this.pool?.end().catch(() => undefined);
  }

  /** Counts one request of `keyId`: sets the RateLimit fields, or throws 429 past the rate. */
  async consume(keyId: string, res: Response): Promise<void> {
    res.setHeader('RateLimit-Policy', this.policy);
    try {
      const state = await this.limiter.consume(keyId);
      res.setHeader('RateLimit', `${POLICY};r=${state.remainingPoints};t=${seconds(state.msBeforeNext)}`);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      const wait = seconds(err.msBeforeNext);
      res.setHeader('RateLimit', `${POLICY};r=0;t=${wait}`);
      res.setHeader('Retry-After', String(wait));
      throw new DomainError(
        'TOO_MANY',
        `More than ${this.config.api.ratePerSecond} requests per second with this API key`,
      );
    }
  }
}

/** Whole seconds, at least 1: a client told 0 would retry at once. */
function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
