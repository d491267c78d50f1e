import { Module } from '@nestjs/common';
import { ChatMethodModule } from '../../delivery/methods/chat/chat.module.js';
import { ChatDestinationsController } from './chat.controller.js';

/** POST and DELETE /contacts/chat: the chat method's destinations (src/delivery/methods/chat/). */
@Module({
  imports: [ChatMethodModule],
  controllers: [ChatDestinationsController],
  exports: [ChatMethodModule],
})
export class ChatContactsModule {}
