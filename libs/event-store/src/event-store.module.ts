import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { EventStoreModuleOptions } from './configuration/event-store-options.interface.js';
import { resolveEventStoreOptions } from './configuration/resolve-event-store-options.js';
import { ConfigurableEventStoreModule, EVENT_STORE_MODULE_OPTIONS } from './event-store.module-definition.js';
import { EventStore } from './event-store.service.js';
import { EventStoreDatabase } from './storage/event-store-database.js';

/**
 * The event store as a Nest module. Register it once, at the application root.
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
 */
@Module({
  providers: [
    {
      provide: EventStoreDatabase,
      inject: [EVENT_STORE_MODULE_OPTIONS],
      useFactory: (options: EventStoreModuleOptions) => EventStoreDatabase.open(resolveEventStoreOptions(options)),
    },
    EventStore,
  ],
  exports: [EventStore],
})
export class EventStoreModule extends ConfigurableEventStoreModule implements OnApplicationShutdown {
  constructor(@Inject(EventStoreDatabase) private readonly database: EventStoreDatabase) {
    super();
  }

  /** Closes the pool and stops the embedded server, if this store started one. */
  async onApplicationShutdown(): Promise<void> {
    await this.database.close();
  }
}
