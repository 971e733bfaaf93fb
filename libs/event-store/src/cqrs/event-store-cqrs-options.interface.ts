import { InvalidArgumentError } from '../errors/invalid-argument.error.js';
import type { SubscriptionOptions } from '../subscriptions/subscription-options.js';

/**
 * How a stored event reaches the `@nestjs/cqrs` side:
 * - `handlers`: the bridge runs the `@EventsHandler` handlers the `EventBus` registered (its
 *   `eventOperators`, the hook `@nestjs/cqrs` offers for publishers that wait) and waits for all
 *   of them; a handler that fails fails the delivery, which the subscription retries. Sagas and
 *   other subscribers of the bus's stream do not see stored events.
 * - `publish`: `eventBus.publish(event)`, awaiting what the bus's publisher returns. With the
 *   default in-memory publisher that is nothing: handlers start before the next event but are not
 *   waited for, and their failures stay on the `UnhandledExceptionBus`; sagas see the events.
 */
export type EventBusDelivery = 'handlers' | 'publish';

/**
 * Options of `EventStoreCqrsModule.forRoot()`: the persistent subscription that feeds the
 * `EventBus`, and the options of any persistent subscription (`startFrom`, `filter`, `retry`,
 * `onFailure`, checkpointing...) with their usual defaults. Groups are not offered: the bus gets
 * `$all` in order, one event at a time.
 *
 * @example
 * EventStoreCqrsModule.forRoot({ subscription: 'game-bus', filter: { streamPrefix: 'game-' }, startFrom: 'end' })
 */
export interface EventStoreCqrsModuleOptions extends Omit<SubscriptionOptions, 'group'> {
  /**
   * Name of the persistent subscription (its checkpoint and lease in PostgreSQL). Default
   * `'cqrs-event-bus'`. Its `filter` cannot change once it exists: change the name (or delete the
   * subscription) to change the filter.
   */
  subscription?: string;
  /** How events reach the handlers (see {@link EventBusDelivery}). Default `'handlers'`. */
  delivery?: EventBusDelivery;
}

/** {@link EventStoreCqrsModuleOptions} with every default applied. */
export interface ResolvedEventStoreCqrsOptions extends Omit<EventStoreCqrsModuleOptions, 'subscription' | 'delivery'> {
  subscription: string;
  delivery: EventBusDelivery;
}

/** The default name of the subscription that feeds the `EventBus`. */
export const DEFAULT_CQRS_SUBSCRIPTION = 'cqrs-event-bus';

/** Applies the defaults of {@link EventStoreCqrsModuleOptions} (the only place that does). */
export function resolveEventStoreCqrsOptions(options: EventStoreCqrsModuleOptions = {}): ResolvedEventStoreCqrsOptions {
  const delivery = options.delivery ?? 'handlers';
  if (delivery !== 'handlers' && delivery !== 'publish') {
    throw new InvalidArgumentError(`EventStoreCqrsModule: delivery must be 'handlers' or 'publish', got ${String(delivery)}`);
  }
  if ('group' in options) {
    throw new InvalidArgumentError('EventStoreCqrsModule: groups are not supported: the EventBus gets $all in order, one event at a time');
  }
  return { ...options, subscription: options.subscription ?? DEFAULT_CQRS_SUBSCRIPTION, delivery };
}
