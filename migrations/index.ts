import { UsersAndSessions1763769600000 } from './1763769600000-UsersAndSessions.js';
import { Notifications1763769700000 } from './1763769700000-Notifications.js';
import { OrdersAndPayments1763771000000 } from './1763771000000-OrdersAndPayments.js';
import { NormalizeEmails1764460000000 } from './1764460000000-NormalizeEmails.js';
import { DeliveryPreferences1796007400000 } from './1796007400000-DeliveryPreferences.js';
import { Deliveries1796007500000 } from './1796007500000-Deliveries.js';
import { EscalationCursor1796007600000 } from './1796007600000-EscalationCursor.js';
import { BroadcastDeliver1796007700000 } from './1796007700000-BroadcastDeliver.js';
import { DropLegacyEscalateQueue1796007800000 } from './1796007800000-DropLegacyEscalateQueue.js';
import { DeliveryQueuePerMethod1796008100000 } from './1796008100000-DeliveryQueuePerMethod.js';
import { EmailChangedAt1796008200000 } from './1796008200000-EmailChangedAt.js';
import { CanonicalTimeZones1796008300000 } from './1796008300000-CanonicalTimeZones.js';
import { DeliveryMethodsAsData1797000000000 } from './1797000000000-DeliveryMethodsAsData.js';
import { ApiKeys1797300000000 } from './1797300000000-ApiKeys.js';
import { IdempotencyKeys1797300100000 } from './1797300100000-IdempotencyKeys.js';
import { ApiRateLimits1797300200000 } from './1797300200000-ApiRateLimits.js';
import { Topics1797300300000 } from './1797300300000-Topics.js';
import { Webhooks1797400000000 } from './1797400000000-Webhooks.js';
import { InboxStates1797500000000 } from './1797500000000-InboxStates.js';
import { NotificationActions1797500000100 } from './1797500000100-NotificationActions.js';
import { UserLocale1797500000200 } from './1797500000200-UserLocale.js';
import { NotificationTranslations1797600000000 } from './1797600000000-NotificationTranslations.js';
import { PartitionedNotifications1797600100000 } from './1797600100000-PartitionedNotifications.js';
import { StreamMarksWithoutKey1797700000000 } from './1797700000000-StreamMarksWithoutKey.js';

/**
 * The migrations of the core and the sources, in order. Listed by hand rather than found by a
 * glob: the same list works compiled (`npm start`), from source (Jest) and in a bundle, and a
 * migration that is not listed does not run — add each new one. A delivery method's own
 * migrations are listed with its plug-in (src/delivery/methods/index.ts); TypeORM runs the
 * union by timestamp.
 */
export const MIGRATIONS = [
  UsersAndSessions1763769600000,
  Notifications1763769700000,
  OrdersAndPayments1763771000000,
  NormalizeEmails1764460000000,
  DeliveryPreferences1796007400000,
  Deliveries1796007500000,
  EscalationCursor1796007600000,
  BroadcastDeliver1796007700000,
  DropLegacyEscalateQueue1796007800000,
  DeliveryQueuePerMethod1796008100000,
  EmailChangedAt1796008200000,
  CanonicalTimeZones1796008300000,
  DeliveryMethodsAsData1797000000000,
  ApiKeys1797300000000,
  IdempotencyKeys1797300100000,
  ApiRateLimits1797300200000,
  Topics1797300300000,
  Webhooks1797400000000,
  InboxStates1797500000000,
  NotificationActions1797500000100,
  UserLocale1797500000200,
  NotificationTranslations1797600000000,
  PartitionedNotifications1797600100000,
  StreamMarksWithoutKey1797700000000,
];
