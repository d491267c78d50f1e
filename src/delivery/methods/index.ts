import type { Type } from '@nestjs/common';
import type { MigrationInterface } from 'typeorm';
import { ChatDestinations1797200000000 } from '../../../migrations/1797200000000-ChatDestinations.js';
import { Contacts1797100000000 } from '../../../migrations/1797100000000-Contacts.js';
import { SmsMethod1797100100000 } from '../../../migrations/1797100100000-SmsMethod.js';
import type { DeliveryMethod } from '../../../client/registry.js';
import type { DeliveryMethodPlugin } from '../port/delivery-method.js';
import { ChatMethodModule } from './chat/chat.module.js';
import { ChatMethod } from './chat/chat.method.js';
import { EmailModule } from './email/email.module.js';
import { EmailMethod } from './email/email.method.js';
import { PushModule } from './push/push.module.js';
import { PushMethod } from './push/push.method.js';
import { SmsModule } from './sms/sms.module.js';
import { SmsMethod } from './sms/sms.method.js';

export interface MethodEntry {
  /** The method's Nest module: its controllers and providers; it exports `plugin`. */
  readonly module: Type<unknown>;
  readonly plugin: Type<DeliveryMethodPlugin>;
  /** The method's own migrations (its row in delivery_methods, its contacts' tables), run with the others by timestamp. */
  readonly migrations: ReadonlyArray<Type<MigrationInterface>>;
}

/**
 * The server's delivery methods, one line each. Typed by the registry (`client/registry.ts`):
 * a method listed there without a line here, or the other way round, fails the build.
 */
export const METHOD_PLUGINS = {
  // push and email came before the port: their tables are in the core's migrations.
  push: { module: PushModule, plugin: PushMethod, migrations: [] },
  email: { module: EmailModule, plugin: EmailMethod, migrations: [] },
  sms: { module: SmsModule, plugin: SmsMethod, migrations: [Contacts1797100000000, SmsMethod1797100100000] },
  chat: { module: ChatMethodModule, plugin: ChatMethod, migrations: [ChatDestinations1797200000000] },
} as const satisfies Record<DeliveryMethod, MethodEntry>;
