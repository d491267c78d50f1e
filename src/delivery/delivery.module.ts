import { Module, type Provider } from '@nestjs/common';
import { NotificationsModule } from '../notifications/notifications.module.js';
import { AdminDeliveriesController, DeliveriesController } from './delivery.controllers.js';
import { DeliveryLog } from './delivery-log.js';
import { DeliveryMetrics } from './delivery-metrics.js';
import { DeliveryService } from './delivery.service.js';
import { EscalationScanner } from './escalation-scanner.js';
import { EscalationService } from './escalation.service.js';
import { JobQueue } from './job-queue.js';
import { METHOD_PLUGINS } from './methods/index.js';
import type { DeliveryMethodPlugin } from './port/delivery-method.js';
import { DeliveryMethods } from './port/delivery-methods.js';
import { SenderService } from './sender.service.js';
import { StreamMarks } from './stream-marks.js';

const METHODS = Object.values(METHOD_PLUGINS);

/** The registry of plug-ins, built from each method's module's export. */
const methodsProvider: Provider = {
  provide: DeliveryMethods,
  inject: METHODS.map((m) => m.plugin),
  useFactory: (...plugins: DeliveryMethodPlugin[]) => new DeliveryMethods(plugins),
};

/**
 * Beyond the open tab: a notification nobody saw in time goes out by every
 * method the user allows (src/delivery/methods/: Web Push, email, …), exactly
 * once (docs/delivery.md). Plugs into the core through its EscalationPort;
 * the core does not import this module.
 */
@Module({
  imports: [NotificationsModule, ...METHODS.map((m) => m.module)],
  controllers: [DeliveriesController, AdminDeliveriesController],
  providers: [
    JobQueue,
    StreamMarks,
    EscalationService,
    EscalationScanner,
    SenderService,
    DeliveryService,
    methodsProvider,
    DeliveryLog,
    DeliveryMetrics,
  ],
  exports: [DeliveryService, JobQueue],
})
export class DeliveryModule {}
