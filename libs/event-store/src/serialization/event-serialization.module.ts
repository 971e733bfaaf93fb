import { Global, Module } from '@nestjs/common';
import { EVENT_STORE_OPTIONS } from '../configuration/event-store-configuration.module-definition.js';
import type { ResolvedEventStoreOptions } from '../configuration/resolve-event-store-options.js';
import { EventSerializer } from './event-serializer.js';
import { EventTypeRegistry } from './event-type-registry.js';

/**
 * Event types and their (de)serialization: the one {@link EventTypeRegistry} of the application,
 * and the {@link EventSerializer} that validates payloads on append and restores (and upcasts)
 * them on read. Global so that every `EventStoreModule.forFeature([...])`, wherever it is
 * imported, registers into the same registry.
 */
@Global()
@Module({
  providers: [
    EventTypeRegistry,
    {
      provide: EventSerializer,
      inject: [EventTypeRegistry, EVENT_STORE_OPTIONS],
      useFactory: (registry: EventTypeRegistry, options: ResolvedEventStoreOptions) =>
        new EventSerializer(registry, options.unregisteredEventTypes),
    },
  ],
  exports: [EventTypeRegistry, EventSerializer],
})
export class EventSerializationModule {}
