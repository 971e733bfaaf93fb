import { Module, type DynamicModule } from '@nestjs/common';
import { EventBusFeed } from './event-bus.feed.js';
import { EventStoreCqrsCoreModule } from './event-store-cqrs-core.module.js';
import {
  ConfigurableEventStoreCqrsModule,
  EVENT_STORE_CQRS_ASYNC_OPTIONS_TYPE,
  EVENT_STORE_CQRS_OPTIONS_TYPE,
} from './event-store-cqrs.module-definition.js';

/**
 * The `@nestjs/cqrs` bridge: aggregates persist their events in the store
 * ({@link AggregateRepository}, injectable everywhere), and the `EventBus` is fed from a
 * persistent subscription to `$all` ({@link EventBusFeed}), so `@EventsHandler`s get each stored
 * event once per subscription, also after a restart. Register it once, at the application root,
 * beside `CqrsModule.forRoot()` and `EventStoreModule.forRoot()`; register the event classes with
 * `EventStoreModule.forFeature([...])` as usual.
 *
 * @example
 * @Module({
 *   imports: [
 *     CqrsModule.forRoot(),
 *     EventStoreModule.forRoot({ connection: { host: '127.0.0.1' } }),
 *     EventStoreModule.forFeature([GameStarted, GuessMade, GameWon]),
 *     EventStoreCqrsModule.forRoot(), // subscription 'cqrs-event-bus', every event of $all
 *   ],
 *   providers: [MakeGuessHandler, AnnounceWinner],
 * })
 * export class AppModule {}
 *
 * @example
 * EventStoreCqrsModule.forRootAsync({
 *   inject: [GameConfig],
 *   useFactory: (config: GameConfig) => ({ subscription: config.busSubscription, filter: { streamPrefix: 'game-' } }),
 * })
 */
@Module({ imports: [EventStoreCqrsCoreModule], providers: [EventBusFeed], exports: [EventBusFeed] })
export class EventStoreCqrsModule extends ConfigurableEventStoreCqrsModule {
  /** The bridge for options given directly (all optional; see `EventStoreCqrsModuleOptions`). */
  static override forRoot(options: typeof EVENT_STORE_CQRS_OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }

  /** The bridge for options made by a factory (`useFactory` + `inject`), `useClass` or `useExisting`. */
  static override forRootAsync(options: typeof EVENT_STORE_CQRS_ASYNC_OPTIONS_TYPE): DynamicModule {
    return super.forRootAsync(options);
  }
}
