import { Module } from '@nestjs/common';
import { OutboundModule } from '../../../outbound/outbound.module.js';
import { PushController } from './push.controller.js';
import { PushMethod } from './push.method.js';
import { PushSubscriptions } from './push-subscriptions.js';

/** Web Push: the browsers' subscriptions and the plug-in that sends to them. */
@Module({
  imports: [OutboundModule],
  controllers: [PushController],
  providers: [PushSubscriptions, PushMethod],
  exports: [PushMethod],
})
export class PushModule {}
