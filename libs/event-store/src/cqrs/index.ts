/**
 * `@game-bot/event-store/cqrs`: the `@nestjs/cqrs` bridge. `AggregateRoot`s persist their events
 * in the store (`AggregateRepository`), and the `EventBus` is fed from a persistent subscription
 * (`EventStoreCqrsModule`). Needs `@nestjs/cqrs` (an optional peer dependency of the package: the
 * main entry never loads it).
 */
export { EventStoreCqrsModule } from './event-store-cqrs.module.js';
export { EVENT_STORE_CQRS_MODULE_OPTIONS, EVENT_STORE_CQRS_OPTIONS } from './event-store-cqrs.module-definition.js';
export {
  DEFAULT_CQRS_SUBSCRIPTION,
  type EventBusDelivery,
  type EventStoreCqrsModuleOptions,
  type ResolvedEventStoreCqrsOptions,
} from './event-store-cqrs-options.interface.js';
export { AggregateRepository, type LoadedAggregate } from './aggregate.repository.js';
export { EventBusFeed } from './event-bus.feed.js';
export { recordedEventOf } from './recorded-event-of.js';
export { UnregisteredAggregateEventError } from './unregistered-aggregate-event.error.js';
