import { Inject, Module, type DynamicModule, type OnApplicationShutdown, type Type } from '@nestjs/common';
import type { EventStoreModuleOptions } from './configuration/event-store-options.interface.js';
import { resolveEventStoreOptions } from './configuration/resolve-event-store-options.js';
import { ConfigurableEventStoreModule, EVENT_STORE_MODULE_OPTIONS } from './event-store.module-definition.js';
import { EventStore } from './event-store.service.js';
import { EventSerializer } from './serialization/event-serializer.js';
import { EventTypeRegistry, type UpcasterRegistration } from './serialization/event-type-registry.js';
import { EventTypesModule } from './serialization/event-types.module.js';
import { EventStoreDatabase } from './storage/event-store-database.js';
import { FailedDeliveryWorker } from './subscriptions/failed-delivery.worker.js';
import { SubscriptionExplorer } from './subscriptions/subscription-explorer.js';
import { DiscoveryModule } from '@nestjs/core';

/** Options of `EventStoreModule.forFeature`. */
export interface EventStoreFeatureOptions {
  /** Upcasters declared here rather than on the classes. */
  upcasters?: UpcasterRegistration[];
}

/** What `forFeature` imports: it only registers its event classes. */
@Module({})
export class EventStoreFeatureModule {}

let featureCount = 0;

/**
 * The event store as a Nest module. Register it once, at the application root, with `forRoot`;
 * feature modules register their event classes with `forFeature`.
 *
 * @example
 * @Module({
 *   imports: [EventStoreModule.forRoot({ connection: { host: '127.0.0.1' }, schema: 'game' })],
 * })
 * export class AppModule {}
 *
 * @example
 * EventStoreModule.forRootAsync({
 *   inject: [GameConfig],
 *   useFactory: (config: GameConfig) => ({ connection: config.eventStore }),
 * })
 *
 * @example
 * @Module({ imports: [EventStoreModule.forFeature([GameStarted, GuessProcessed])] })
 * export class GameModule {}
 */
@Module({
  imports: [EventTypesModule, DiscoveryModule],
  providers: [
    {
      provide: EventStoreDatabase,
      inject: [EVENT_STORE_MODULE_OPTIONS],
      useFactory: (options: EventStoreModuleOptions) => EventStoreDatabase.open(resolveEventStoreOptions(options)),
    },
    {
      provide: EventSerializer,
      inject: [EventTypeRegistry, EventStoreDatabase],
      useFactory: (registry: EventTypeRegistry, database: EventStoreDatabase) =>
        new EventSerializer(registry, database.options.unregisteredEventTypes),
    },
    EventStore,
    FailedDeliveryWorker,
    SubscriptionExplorer,
  ],
  exports: [EventStore, EventStoreDatabase, FailedDeliveryWorker],
})
export class EventStoreModule extends ConfigurableEventStoreModule implements OnApplicationShutdown {
  constructor(@Inject(EventStoreDatabase) private readonly database: EventStoreDatabase) {
    super();
  }

  /**
   * Registers event classes (decorated with `@EventType`) for the whole application. Import it in
   * each feature module that defines events; the same class may be registered more than once.
   */
  static forFeature(events: Array<Type<object>>, options: EventStoreFeatureOptions = {}): DynamicModule {
    return {
      module: EventStoreFeatureModule,
      providers: [
        {
          provide: `EVENT_STORE_FEATURE_${++featureCount}`,
          inject: [EventTypeRegistry],
          useFactory: (registry: EventTypeRegistry) => registry.register(events, options.upcasters),
        },
      ],
    };
  }

  /** Closes the pool and stops the embedded server, if this store started one. */
  async onApplicationShutdown(): Promise<void> {
    await this.database.close();
  }
}
