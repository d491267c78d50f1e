import { Module } from '@nestjs/common';
import { OutboundModule } from '../../../outbound/outbound.module.js';
import { ChatDestinations } from './chat-destinations.js';
import { ChatMethod } from './chat.method.js';

/** Chat: the users' webhook destinations (their routes are in src/contacts/chat/) and the plug-in that posts to them. */
@Module({
  imports: [OutboundModule],
  providers: [ChatDestinations, ChatMethod],
  exports: [ChatDestinations, ChatMethod],
})
export class ChatMethodModule {}
