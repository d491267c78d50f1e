import { Module } from '@nestjs/common';
import { NotificationsModule } from '../../../notifications/notifications.module.js';
import { EmailMethod } from './email.method.js';
import { UnsubscribeController } from './unsubscribe.controller.js';
import { Unsubscribe } from './unsubscribe.js';

/** Email digests and their one-click unsubscribe. */
@Module({
  imports: [NotificationsModule],
  controllers: [UnsubscribeController],
  providers: [EmailMethod, Unsubscribe],
  exports: [EmailMethod],
})
export class EmailModule {}
