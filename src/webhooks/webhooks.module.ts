import { Module } from '@nestjs/common';
import { DeliveryModule } from '../delivery/delivery.module.js';
import { NotificationsModule } from '../notifications/notifications.module.js';
import { OutboundModule } from '../outbound/outbound.module.js';
import { WebhookQueue } from './webhook-queue.js';
import { WebhookSender } from './webhook-sender.js';
import { WebhooksController } from './webhooks.controller.js';
import { WebhooksService } from './webhooks.service.js';

/**
 * Outbound webhooks (docs/webhooks.md): the core's activity, signed per Standard Webhooks, sent
 * as durable jobs on delivery's pg-boss. Subscribes to the core's NotificationActivity; the core
 * does not import this module.
 */
@Module({
  imports: [NotificationsModule, DeliveryModule, OutboundModule],
  controllers: [WebhooksController],
  providers: [WebhooksService, WebhookQueue, WebhookSender],
})
export class WebhooksModule {}
