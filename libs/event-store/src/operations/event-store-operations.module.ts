import { Module } from '@nestjs/common';
import { EventStorageModule } from '../storage/event-storage.module.js';
import { EventExporter } from './event-exporter.js';
import { EventImporter } from './event-importer.js';
import { RestampOperation } from './restamp.operation.js';
import { VerifyOperation } from './verify.operation.js';

/**
 * Operations on a whole store: export and import of its events, verify (checksums) and restamp
 * (transaction ids after a restore into another cluster). Above storage only; the command
 * line and the facade reach them.
 */
@Module({
  imports: [EventStorageModule],
  providers: [EventExporter, EventImporter, VerifyOperation, RestampOperation],
  exports: [EventExporter, EventImporter, VerifyOperation, RestampOperation],
})
export class EventStoreOperationsModule {}
