/**
 * Every migration, in order. Listed by hand rather than found by a glob: the same list works
 * compiled (`npm start`), from source (Jest) and in a bundle, and a migration that is not
 * listed here does not run — add each new one.
 */
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
import { Contacts1797100000000 } from './1797100000000-Contacts.js';
import { SmsMethod1797100100000 } from './1797100100000-SmsMethod.js';
import { ChatDestinations1797200000000 } from './1797200000000-ChatDestinations.js';

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
  Contacts1797100000000,
  SmsMethod1797100100000,
  ChatDestinations1797200000000,
];
