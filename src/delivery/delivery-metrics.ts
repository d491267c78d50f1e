import { Injectable } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { DataSource } from 'typeorm';
import { MetricsService } from '../metrics/metrics.service.js';
import { DeliveryMethods } from './port/delivery-methods.js';

/**
 * `notifications_deliveries{method,status}`: the delivery log counted at scrape
 * time, so every instance reports the same cluster-wide figures (the table is
 * the truth, not a per-process counter that a restart would reset).
 */
@Injectable()
export class DeliveryMetrics {
  constructor(metrics: MetricsService, db: DataSource, methods: DeliveryMethods) {
    new Gauge({
      name: 'notifications_deliveries',
      help: 'Deliveries by method and status (all instances, from the delivery log)',
      labelNames: ['method', 'status'],
      registers: [metrics.registry],
      async collect() {
        this.reset();
        for (const method of methods.names) {
          for (const status of ['scheduled', 'sent', 'failed', 'cancelled']) this.set({ method, status }, 0);
        }
        try {
          const rows: Array<{ method: string; status: string; n: number }> = await db.query(
            `SELECT method, CASE status WHEN 'sending' THEN 'scheduled' ELSE status END AS status, count(*)::int AS n
               FROM deliveries GROUP BY 1, 2`,
          );
          for (const r of rows) this.inc({ method: r.method, status: r.status }, r.n);
        } catch {
          // The database is away: /health says so; the zeros stand.
        }
      },
    });
  }
}
