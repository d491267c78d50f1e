import { Module } from '@nestjs/common';
import { NotificationsModule } from '../notifications/notifications.module.js';
import { OutboundModule } from '../outbound/outbound.module.js';
import {
  AdminDeliveriesController,
  DeliveriesController,
  PushController,
  UnsubscribeController,
} from './delivery.controllers.js';
import { DeliveryLog } from './delivery-log.js';
import { DeliveryMetrics } from './delivery-metrics.js';
import { DeliveryService } from './delivery.service.js';
import { EscalationScanner } from './escalation-scanner.js';
import { EscalationService } from './escalation.service.js';
import { JobQueue } from './job-queue.js';
import { PushSubscriptions } from './push-subscriptions.js';
import { SenderService } from './sender.service.js';
import { StreamMarks } from './stream-marks.js';
import { Unsubscribe } from './unsubscribe.js';

/**
 * Beyond the open tab: a notification nobody saw in time goes out by Web Push
 * and email, exactly once (docs/delivery.md). Plugs into the core through
 * its EscalationPort; the core does not import this module.
 */
@Module({
  imports: [NotificationsModule, OutboundModule],
  controllers: [PushController, DeliveriesController, AdminDeliveriesController, UnsubscribeController],
  providers: [
    JobQueue,
    StreamMarks,
    EscalationService,
    EscalationScanner,
    SenderService,
    DeliveryService,
    PushSubscriptions,
    Unsubscribe,
    DeliveryLog,
    DeliveryMetrics,
  ],
  exports: [DeliveryService, JobQueue],
})
export class DeliveryModule {}
