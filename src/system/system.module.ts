import { Module } from '@nestjs/common';
import { BroadcastsService } from './broadcasts.service.js';

/** An event source: admin broadcasts (system.broadcast). Its routes live in admin/. */
@Module({
  providers: [BroadcastsService],
  exports: [BroadcastsService],
})
export class SystemModule {}
