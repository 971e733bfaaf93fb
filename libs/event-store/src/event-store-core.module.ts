import { Global, Inject, Module, type DynamicModule, type OnModuleInit } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { EventStoreConfigurationModule } from './configuration/event-store-configuration.module.js';
import { EVENT_STORE_ASYNC_OPTIONS_TYPE, EVENT_STORE_OPTIONS_TYPE } from './configuration/event-store-configuration.module-definition.js';
import { EventStore } from './event-store.service.js';
import { EventStoreHealthModule } from './health/event-store-health.module.js';
import { EventStoreOperationsModule } from './operations/event-store-operations.module.js';
import { EventProjectionsModule } from './projections/event-projections.module.js';
import { EventRetentionModule } from './retention/event-retention.module.js';
import { EventSerializationModule } from './serialization/event-serialization.module.js';
import { EventStorageModule } from './storage/event-storage.module.js';
import { EventSubscriptionsModule } from './subscriptions/event-subscriptions.module.js';
import { EventTransactionsModule } from './transactions/event-transactions.module.js';

const parts = [
  EventStorageModule,
  EventSerializationModule,
  EventSubscriptionsModule,
  EventTransactionsModule,
  EventProjectionsModule,
  EventRetentionModule,
  EventStoreOperationsModule,
  EventStoreHealthModule,
];

/**
 * The store itself, registered once by `EventStoreModule.forRoot()`: the configuration, storage,
 * serialization, subscriptions, transactions, projections and health modules, and the {@link EventStore} facade over them.
 * Global, so that every module of the host app can inject `EventStore` (and the health indicator,
 * the connection details) without importing anything, as `TypeOrmCoreModule` does for TypeORM.
 */
@Global()
@Module({})
export class EventStoreCoreModule implements OnModuleInit {
  /** @internal Made by Nest's injector. */
  constructor(@Inject(ModulesContainer) private readonly modules: ModulesContainer) {}

  /**
   * The parts are single modules of the app, so a second `forRoot` would get a facade of its own
   * over the first one's database: another schema's writes would land in this one, silently.
   */
  onModuleInit(): void {
    const registered = [...this.modules.values()].filter((module) => module.metatype === EventStoreCoreModule).length;
    if (registered > 1) {
      throw new Error(
        `EventStoreModule.forRoot() is registered ${registered} times: register it once, at the application root (one store per application); feature modules use EventStoreModule.forFeature()`,
      );
    }
  }

  /** The core for options given directly. */
  static forRoot(options: typeof EVENT_STORE_OPTIONS_TYPE): DynamicModule {
    return EventStoreCoreModule.around(EventStoreConfigurationModule.forRoot(options));
  }

  /** The core for options made by a factory, class or existing provider. */
  static forRootAsync(options: typeof EVENT_STORE_ASYNC_OPTIONS_TYPE): DynamicModule {
    return EventStoreCoreModule.around(EventStoreConfigurationModule.forRootAsync(options));
  }

  private static around(configuration: DynamicModule): DynamicModule {
    return {
      module: EventStoreCoreModule,
      imports: [configuration, ...parts],
      providers: [EventStore],
      exports: [EventStore, ...parts],
    };
  }
}
