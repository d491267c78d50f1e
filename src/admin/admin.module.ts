import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { NotificationsModule } from '../notifications/notifications.module.js';
import { UsersAdminService } from '../users/users-admin.service.js';
import { AdminStatsController } from './admin-stats.controller.js';
import { AdminUsersController } from './admin-users.controller.js';

@Module({
  imports: [NotificationsModule, AuthModule],
  controllers: [AdminStatsController, AdminUsersController],
  providers: [UsersAdminService],
})
export class AdminModule {}
