import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The Prometheus registry of this instance. One registry per app (not the
 * global default), so several apps in one test process do not collide.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly openStreams = new Gauge({
    name: 'notifications_open_streams',
    help: 'Open SSE streams on this instance',
    registers: [this.registry],
  });
  readonly published = new Counter({
    name: 'notifications_published_total',
    help: 'Notifications committed by this instance',
    labelNames: ['channel'],
    registers: [this.registry],
  });
  readonly delivered = new Counter({
    name: 'notifications_delivered_total',
    help: 'Live notification events written to streams',
    registers: [this.registry],
  });
  readonly replayed = new Counter({
    name: 'notifications_replayed_total',
    help: 'Notification events replayed after Last-Event-ID',
    registers: [this.registry],
  });
  readonly droppedSlowClients = new Counter({
    name: 'notifications_dropped_slow_clients_total',
    help: 'Streams dropped because the client did not read',
    registers: [this.registry],
  });
  readonly busReconnects = new Counter({
    name: 'notifications_bus_reconnects_total',
    help: 'Reconnections of the cross-instance bus',
    labelNames: ['bus'],
    registers: [this.registry],
  });
  readonly feedReads = new Counter({
    name: 'notifications_feed_reads_total',
    help: 'Reads of the notifications table by the feed, by reason: gap (the bus did not bring the rows), poll, reconnect',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly feedRowsRead = new Counter({
    name: 'notifications_feed_rows_read_total',
    help: 'Rows the feed read from the table (the others came with bus messages or from this instance’s commits)',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly deliveryLatency = new Histogram({
    name: 'notifications_publish_to_delivery_seconds',
    help: 'From the publishing transaction to the write on a stream of this instance',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
