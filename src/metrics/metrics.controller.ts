import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import { Registry } from 'prom-client';
import { MetricsService } from './metrics.service.js';

/**
 * Prometheus scrape endpoint. Unauthenticated on purpose: Prometheus scrapes
 * each instance directly on the private network, and the public nginx in
 * deploy/ refuses /metrics, so it is not reachable from outside.
 */
@ApiTags('operations')
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  @Header('Cache-Control', 'no-store')
  @ApiProduces(Registry.PROMETHEUS_CONTENT_TYPE)
  @ApiOkResponse({
    description:
      'Prometheus text format of this instance: open streams, notifications published / delivered / replayed, ' +
      'publish-to-delivery latency, dropped slow clients, bus reconnects and Node.js process metrics',
    schema: { type: 'string' },
  })
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
