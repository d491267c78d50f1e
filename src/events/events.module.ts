import { DynamicModule, Global, Module } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/env.js';
import { NotificationsModule } from '../notifications/notifications.module.js';
import { EventCatalogue, type SomeChannelEvents } from './domain-events.js';
import { DomainEvents } from './domain-events.service.js';

/** DomainEvents for every source, with the catalogue of all their events (src/sources.ts). */
@Global()
@Module({})
export class EventsModule {
  static forRoot(channels: readonly SomeChannelEvents[]): DynamicModule {
    return {
      module: EventsModule,
      imports: [NotificationsModule],
      providers: [
        {
          provide: EventCatalogue,
          inject: [APP_CONFIG],
          useFactory: (config: AppConfig) => new EventCatalogue(channels, config.currency),
        },
        DomainEvents,
      ],
      exports: [DomainEvents],
    };
  }
}
