import { Module } from '@nestjs/common';
import { EventStorageModule } from '../storage/event-storage.module.js';
import { EventScavenger } from './event-scavenger.js';

/**
 * Retention: the scavenger that deletes for good what streams' retention metadata hides from reads
 * (the reads themselves apply it in storage's SQL). Scheduling it is the host's choice: the
 * service runs it every `EVENT_STORE_SCAVENGE_INTERVAL_SECONDS`, the command line on demand.
 */
@Module({
  imports: [EventStorageModule],
  providers: [EventScavenger],
  exports: [EventScavenger],
})
export class EventRetentionModule {}
