import { Inject, Logger, Module, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { EVENT_STORE_OPTIONS } from '../configuration/event-store-configuration.module-definition.js';
import type { ResolvedEventStoreOptions } from '../configuration/resolve-event-store-options.js';
import { PersonalDataVault } from '../erasure/personal-data.vault.js';
import { SubjectKeysRepository } from '../erasure/subject-keys.repository.js';
import { EventReader } from './event-reader.js';
import { EventStoreConnection } from './event-store-connection.js';
import { EventStoreDatabase } from './event-store-database.js';
import { EventStoreObservers } from './event-store-observers.js';
import { EventsRepository } from './events.repository.js';
import { FailedDeliveriesRepository } from './failed-deliveries.repository.js';
import { SnapshotsRepository } from './snapshots.repository.js';
import { StreamsRepository } from './streams.repository.js';
import { SubscriptionsRepository } from './subscriptions.repository.js';

// Subject keys and the vault over them are part of storage: every read opens sealed values, and
// every append seals them, on the store's own database.
const repositories = [
  EventsRepository,
  StreamsRepository,
  SnapshotsRepository,
  SubscriptionsRepository,
  FailedDeliveriesRepository,
  SubjectKeysRepository,
];

/**
 * The store's PostgreSQL: the database (the embedded server when none is configured, the database
 * created if missing, the schema migrated as configured), its pool, and the repositories that run
 * the store's SQL. It owns their shutdown: the pool is closed and the embedded server stopped
 * once the application has shut down (after the subscriptions have stopped).
 */
@Module({
  providers: [
    {
      provide: EventStoreDatabase,
      inject: [EVENT_STORE_OPTIONS],
      useFactory: (options: ResolvedEventStoreOptions) => EventStoreDatabase.open(options),
    },
    {
      provide: EventStoreConnection,
      inject: [EventStoreDatabase],
      useFactory: (database: EventStoreDatabase) => database.connectionDetails(),
    },
    ...repositories,
    EventStoreObservers,
    PersonalDataVault,
    EventReader,
  ],
  exports: [EventStoreDatabase, EventStoreConnection, ...repositories, EventStoreObservers, PersonalDataVault, EventReader],
})
export class EventStorageModule implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(EventStorageModule.name);

  constructor(@Inject(EventStoreDatabase) private readonly database: EventStoreDatabase) {}

  /**
   * Nest runs `onApplicationShutdown` on a signal only when the host enabled shutdown hooks; the
   * embedded server is then stopped by its watchdog when the process ends, but requests in flight
   * and subscriptions are cut short. Say so at boot rather than leave it to be found later.
   */
  onApplicationBootstrap(): void {
    if (this.database.onEmbeddedServer && process.listenerCount('SIGTERM') === 0 && process.listenerCount('SIGINT') === 0) {
      this.logger.warn(
        'The event store runs on the embedded PostgreSQL but the app does not handle SIGINT/SIGTERM: call app.enableShutdownHooks() so that a stop closes the store in order',
      );
    }
  }

  /** Closes the pool, then stops the embedded server if this store started it. */
  async onApplicationShutdown(): Promise<void> {
    await this.database.close();
  }
}
