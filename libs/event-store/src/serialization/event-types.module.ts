import { Global, Module } from '@nestjs/common';
import { EventTypeRegistry } from './event-type-registry.js';

/**
 * Holds the one {@link EventTypeRegistry} of the application, global so that every
 * `EventStoreModule.forFeature([...])`, wherever it is imported, registers into it.
 */
@Global()
@Module({ providers: [EventTypeRegistry], exports: [EventTypeRegistry] })
export class EventTypesModule {}
