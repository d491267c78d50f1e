import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { NotificationsModule } from '../notifications/notifications.module.js';
import { SystemModule } from '../system/system.module.js';
import { UsersAdminService } from './users-admin.service.js';
import { AdminBroadcastsController } from './admin-broadcasts.controller.js';
import { AdminStatsController } from './admin-stats.controller.js';
import { AdminUsersController } from './admin-users.controller.js';

@Module({
  imports: [NotificationsModule, SystemModule, AuthModule],
  controllers: [AdminStatsController, AdminBroadcastsController, AdminUsersController],
  providers: [UsersAdminService],
})
export class AdminModule {}
