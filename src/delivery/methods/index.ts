import type { Type } from '@nestjs/common';
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
}

/**
 * The server's delivery methods, one line each. Typed by the registry (`client/registry.ts`):
 * a method listed there without a line here, or the other way round, fails the build.
 */
export const METHOD_PLUGINS = {
  push: { module: PushModule, plugin: PushMethod },
  email: { module: EmailModule, plugin: EmailMethod },
  sms: { module: SmsModule, plugin: SmsMethod },
  chat: { module: ChatMethodModule, plugin: ChatMethod },
} as const satisfies Record<DeliveryMethod, MethodEntry>;
