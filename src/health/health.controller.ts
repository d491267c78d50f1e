import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckResult, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { NotificationBus } from '../notifications/bus/notification-bus.js';

@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly bus: NotificationBus,
  ) {}

  @Get()
  @HealthCheck()
  @ApiOkResponse({ description: '{ "status": "ok", … } when the database and the bus answer' })
  @ApiServiceUnavailableResponse({ description: 'The database or the bus does not answer' })
  check(): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.db.pingCheck('database', { timeout: 1500 }),
      () => this.bus.healthCheck('bus'),
    ]);
  }
}
