import { Module } from '@nestjs/common';
import { SmsTransportModule } from '../delivery/methods/sms/sms-transport.js';
import { ChatContactsModule } from './chat/chat.module.js';
import { ContactsController } from './contacts.controller.js';
import { ContactsService } from './contacts.service.js';

/** Where a user can be reached besides the browser: a verified phone, chat destinations. */
@Module({
  imports: [SmsTransportModule, ChatContactsModule],
  controllers: [ContactsController],
  providers: [ContactsService],
  exports: [ContactsService],
})
export class ContactsModule {}
