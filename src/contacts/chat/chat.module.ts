import { Module } from '@nestjs/common';
import { OutboundModule } from '../../outbound/outbound.module.js';
import { ChatDestinations } from './chat-destinations.js';
import { ChatSender } from './chat-sender.js';
import { ChatDestinationsController } from './chat.controller.js';

/** Chat destinations (Slack, Discord, Teams incoming webhooks): where the chat method posts. */
@Module({
  imports: [OutboundModule],
  controllers: [ChatDestinationsController],
  providers: [ChatDestinations, ChatSender],
  exports: [ChatDestinations, ChatSender],
})
export class ChatModule {}
