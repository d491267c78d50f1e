import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { AdminApiKeysController } from './admin-api-keys.controller.js';
import { ApiKeyGuard } from './api-key.guard.js';
import { ApiKeysService } from './api-keys.service.js';
import { Idempotency } from './idempotency.js';
import { PublishController } from './publish.controller.js';
import { PublishService } from './publish.service.js';
import { ApiRateLimit } from './rate-limit.js';
import { MyTopicsController, TopicSubscribersController } from './topics.controllers.js';
import { TopicsService } from './topics.service.js';

/** The API for other services (/v1, with API keys) and its administration. */
@Module({
  imports: [AuthModule],
  controllers: [AdminApiKeysController, PublishController, TopicSubscribersController, MyTopicsController],
  providers: [ApiKeysService, ApiKeyGuard, ApiRateLimit, PublishService, Idempotency, TopicsService],
})
export class ApiModule {}
