import { Module, type DynamicModule, type Type } from '@nestjs/common';
import { EVENT_STORE_ASYNC_OPTIONS_TYPE, EVENT_STORE_OPTIONS_TYPE } from './configuration/event-store-configuration.module-definition.js';
import { EventStoreCoreModule } from './event-store-core.module.js';
import { EventTypeRegistry, type UpcasterRegistration } from './serialization/event-type-registry.js';

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
 * The event store as a Nest module. Register it once, at the application root, with `forRoot`
 * (or `forRootAsync`): `EventStore` is then injectable in every module of the app. Feature
 * modules register their event classes with `forFeature`.
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
@Module({})
export class EventStoreModule {
  /** The store, for options given directly (every option is optional: none runs on an embedded PostgreSQL). */
  static forRoot(options: typeof EVENT_STORE_OPTIONS_TYPE = {}): DynamicModule {
    return { module: EventStoreModule, imports: [EventStoreCoreModule.forRoot(options)] };
  }

  /** The store, for options made by a factory (`useFactory` + `inject`), `useClass` or `useExisting`. */
  static forRootAsync(options: typeof EVENT_STORE_ASYNC_OPTIONS_TYPE): DynamicModule {
    return { module: EventStoreModule, imports: [EventStoreCoreModule.forRootAsync(options)] };
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
}
