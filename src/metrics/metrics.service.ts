import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The Prometheus registry of this instance. One registry per app (not the
 * global default), so several apps in one test process do not collide.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly openStreams = this.gauge('notifications_open_streams', 'Open SSE streams on this instance');
  readonly published = this.counter('notifications_published_total', 'Notifications committed by this instance', [
    'channel',
  ]);
  readonly delivered = this.counter('notifications_delivered_total', 'Live notification events written to streams');
  readonly replayed = this.counter('notifications_replayed_total', 'Notification events replayed after Last-Event-ID');
  readonly droppedSlowClients = this.counter(
    'notifications_dropped_slow_clients_total',
    'Streams dropped because the client did not read',
  );
  readonly busReconnects = this.counter(
    'notifications_bus_reconnects_total',
    'Reconnections of the cross-instance bus',
    ['bus'],
  );
  readonly feedReads = this.counter(
    'notifications_feed_reads_total',
    'Reads of the notifications table by the feed, by reason: gap (the bus did not bring the rows), poll, reconnect',
    ['reason'],
  );
  readonly feedRowsRead = this.counter(
    'notifications_feed_rows_read_total',
    'Rows the feed read from the table (the others came with bus messages or from this instance’s commits)',
    ['reason'],
  );
  readonly deliveryLatency = new Histogram({
    name: 'notifications_publish_to_delivery_seconds',
    help: 'From the publishing transaction to the write on a stream of this instance',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  private counter<L extends string = never>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  private gauge(name: string, help: string): Gauge {
    return new Gauge({ name, help, registers: [this.registry] });
  }
}
