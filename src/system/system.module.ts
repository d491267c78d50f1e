import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module.js';
import { NotificationsModule } from '../notifications/notifications.module.js';
import { BroadcastsService } from './broadcasts.service.js';

/** An event source: admin broadcasts (system.broadcast). Its routes live in admin/. */
@Module({
  imports: [EventsModule, NotificationsModule],
  providers: [BroadcastsService],
  exports: [BroadcastsService],
})
export class SystemModule {}
