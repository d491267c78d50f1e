import { Module } from '@nestjs/common';
import { NotificationsModule } from '../notifications/notifications.module.js';
import { AdminStatsController } from './admin-stats.controller.js';

@Module({
  imports: [NotificationsModule],
  controllers: [AdminStatsController],
})
export class AdminModule {}
