import { Module, Provider } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { BusRouter } from './bus-router.js';
import { NotificationBus } from './bus/notification-bus.js';
import { PgNotifyBus } from './bus/pg-notify.bus.js';
import { RedisClusterBus } from './bus/redis-cluster.bus.js';
import { RedisBus } from './bus/redis.bus.js';
import { Broadcasts } from './broadcasts.js';
import { EscalationPort } from './escalation-port.js';
import { NotificationActivity } from './activity.js';
import { InboxController } from './inbox.controller.js';
import { InboxService } from './inbox.service.js';
import { NotificationFeed } from './notification-feed.js';
import { NotificationPublisher } from './notification.publisher.js';
import { NotificationPartitions } from './partitions.js';
import { PreferencesService } from './preferences.service.js';
import { RetentionService } from './retention.service.js';
import { SnoozeWaker } from './snooze-waker.js';
import { StreamAuthGuard } from './stream-auth.js';
import { StreamHub } from './stream-hub.js';
import { StreamRevalidation } from './stream-revalidation.js';
import { StreamController } from './stream.controller.js';
import { StreamService } from './stream.service.js';
import { HealthIndicatorService, TerminusModule } from '@nestjs/terminus';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/env.js';
import { DATABASE_URL } from '../database/database.module.js';
import { MetricsService } from '../metrics/metrics.service.js';

/**
 * REDIS_CLUSTER_NODES chooses a Redis Cluster's sharded pub/sub, REDIS_URL
 * Redis pub/sub, otherwise Postgres LISTEN/NOTIFY. Only the chosen bus is
 * built (Nest runs the lifecycle hooks of a factory's result), so the others
 * never open a connection.
 */
const busProvider: Provider = {
  provide: NotificationBus,
  inject: [APP_CONFIG, DATABASE_URL, DataSource, HealthIndicatorService, MetricsService],
  useFactory: (
    config: AppConfig,
    url: string,
    db: DataSource,
    health: HealthIndicatorService,
    metrics: MetricsService,
  ) =>
    config.redisClusterNodes
      ? new RedisClusterBus(config, url, health, metrics)
      : config.redisUrl
        ? new RedisBus(config, url, health, metrics)
        : new PgNotifyBus(url, db, health, metrics),
};

/**
 * The core: where notifications are stored (publisher), read back in commit
 * order (feed), routed (hub) and written to browsers (stream). The only module
 * that knows about SSE. Event sources reach it through src/events/ (DomainEvents);
 * delivery plugs in through the EscalationPort.
 */
@Module({
  imports: [AuthModule, TerminusModule],
  controllers: [StreamController, InboxController],
  providers: [
    busProvider,
    EscalationPort,
    NotificationActivity,
    Broadcasts,
    StreamHub,
    NotificationFeed,
    BusRouter,
    NotificationPublisher,
    StreamService,
    StreamAuthGuard,
    StreamRevalidation,
    InboxService,
    PreferencesService,
    NotificationPartitions,
    RetentionService,
    SnoozeWaker,
  ],
  exports: [
    NotificationPublisher,
    NotificationBus,
    StreamHub,
    RetentionService,
    PreferencesService,
    EscalationPort,
    NotificationActivity,
    Broadcasts,
  ],
})
export class NotificationsModule {}
