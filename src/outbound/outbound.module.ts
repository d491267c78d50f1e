import { Inject, Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/env.js';
import { dnsServerResolve } from './addresses.js';
import { OutboundClient } from './outbound-client.js';

/** The app's one OutboundClient: its connections are closed, and what is in flight cancelled, at shutdown. */
@Injectable()
export class Outbound extends OutboundClient implements OnApplicationShutdown {
  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const logger = new Logger('Outbound');
    const server = config.outbound.dnsServer;
    super({ resolve: server ? dnsServerResolve(server) : undefined, debug: (m) => logger.debug(m) });
  }

  onApplicationShutdown(): void {
    this.close();
  }
}

@Module({ providers: [Outbound], exports: [Outbound] })
export class OutboundModule {}
