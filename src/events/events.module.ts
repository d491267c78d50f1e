import { Module } from '@nestjs/common';
import { NotificationsModule } from '../notifications/notifications.module.js';
import { DomainEvents } from './domain-events.service.js';

@Module({
  imports: [NotificationsModule],
  providers: [DomainEvents],
  exports: [DomainEvents],
})
export class EventsModule {}
