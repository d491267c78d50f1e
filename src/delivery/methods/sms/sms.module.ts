import { Module } from '@nestjs/common';
import { ContactsModule } from '../../../contacts/contacts.module.js';
import { NotificationsModule } from '../../../notifications/notifications.module.js';
import { SmsInboundController } from './sms-inbound.controller.js';
import { SmsMethod } from './sms.method.js';
import { SmsTransportModule } from './sms-transport.js';

/** SMS to a verified phone (src/contacts/), and Twilio's signed inbound STOP. */
@Module({
  imports: [NotificationsModule, ContactsModule, SmsTransportModule],
  controllers: [SmsInboundController],
  providers: [SmsMethod],
  exports: [SmsMethod],
})
export class SmsModule {}
