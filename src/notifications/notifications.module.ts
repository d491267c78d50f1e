import { Module, Provider } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { NotificationBus } from './bus/notification-bus.js';
import { PgNotifyBus } from './bus/pg-notify.bus.js';
import { InboxController } from './inbox.controller.js';
import { InboxService } from './inbox.service.js';
import { NotificationFeed } from './notification-feed.js';
import { NotificationPublisher } from './notification.publisher.js';
import { PreferencesService } from './preferences.service.js';
import { RetentionService } from './retention.service.js';
import { StreamHub } from './stream-hub.js';
import { StreamController } from './stream.controller.js';
import { StreamService } from './stream.service.js';
import { TerminusModule } from '@nestjs/terminus';

const busProvider: Provider = { provide: NotificationBus, useClass: PgNotifyBus };

/**
 * The core: where notifications are stored (publisher), read back in commit
 * order (feed), routed (hub) and written to browsers (stream). The only module
 * that knows about SSE; event sources import it for NotificationPublisher.
 */
@Module({
  imports: [AuthModule, TerminusModule],
  controllers: [StreamController, InboxController],
  providers: [
    busProvider,
    StreamHub,
    NotificationFeed,
    NotificationPublisher,
    StreamService,
    InboxService,
    PreferencesService,
    RetentionService,
  ],
  exports: [NotificationPublisher, NotificationBus, StreamHub, RetentionService],
})
export class NotificationsModule {}
