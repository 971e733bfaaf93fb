import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { EventBus, UnhandledExceptionBus } from '@nestjs/cqrs';
import { EventStore } from '../event-store.service.js';
import type { Subscription } from '../subscriptions/subscription-options.js';
import type { RecordedEvent } from '../types/event-data.js';
import { EVENT_STORE_CQRS_OPTIONS } from './event-store-cqrs.module-definition.js';
import type { ResolvedEventStoreCqrsOptions } from './event-store-cqrs-options.interface.js';
import { runEventHandlers } from './event-handlers.runner.js';
import { rememberRecordedEvent } from './recorded-event-of.js';

/**
 * Feeds the `EventBus` from the store: a persistent subscription to `$all` (named by the module's
 * `subscription` option), started when the application has booted and stopped at its shutdown,
 * that hands each stored event's payload to the bus and moves its checkpoint only after that
 * delivery (see `EventBusDelivery`). Each event reaches the bus once per subscription, across
 * restarts, and in one process at a time: the others stand by and take over within seconds.
 * Delivery is at least once: a crash between a delivery and its checkpoint, or a retry after a
 * handler failed, hands the event over again, so handlers should be idempotent.
 *
 * Payloads of unregistered types (plain JSON) are skipped: no `@EventsHandler` can match them.
 *
 * @example
 * // In a test: wait until the bus has seen everything stored so far.
 * await app.get(EventBusFeed).waitUntilCaughtUp();
 */
@Injectable()
export class EventBusFeed implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(EventBusFeed.name);
  private running: Subscription | undefined;

  /** @internal Made by Nest's injector. */
  constructor(
    @Inject(EVENT_STORE_CQRS_OPTIONS) private readonly options: ResolvedEventStoreCqrsOptions,
    @Inject(EventStore) private readonly store: EventStore,
    @Inject(EventBus) private readonly eventBus: EventBus,
    @Inject(UnhandledExceptionBus) private readonly unhandled: UnhandledExceptionBus,
  ) {}

  /** The subscription feeding the bus; `undefined` before the application has booted and after it stopped. */
  get subscription(): Subscription | undefined {
    return this.running;
  }

  /** Resolves once the bus has been handed every event stored so far (see `Subscription.waitUntilCaughtUp`). */
  async waitUntilCaughtUp(): Promise<void> {
    if (this.running === undefined) {
      throw new Error('EventBusFeed: the subscription has not started: the application has not booted (call app.init())');
    }
    await this.running.waitUntilCaughtUp();
  }

  /**
   * Starts the subscription. `CqrsModule` registers its handlers in its own bootstrap hook, which
   * runs before this one: it is a global module, and Nest bootstraps those first.
   */
  onApplicationBootstrap(): void {
    const { subscription: name, delivery, ...subscriptionOptions } = this.options;
    this.running = this.store.subscribeToAll(name, (event) => this.deliver(event), subscriptionOptions);
    this.logger.log(`The EventBus is fed from $all by subscription '${name}' (delivery: ${delivery})`);
  }

  /** Stops the subscription (checkpoint written, lease handed back) before `CqrsModule` unbinds its handlers. */
  async onModuleDestroy(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    await running?.unsubscribe();
  }

  private async deliver(event: RecordedEvent): Promise<void> {
    const payload: object = event.data;
    const prototype: unknown = Object.getPrototypeOf(payload);
    if (prototype === Object.prototype || prototype === null) {
      this.logger.debug(`Skipped event ${event.eventId} ('${event.eventType}'): its type is not registered, no handler can match it`);
      return;
    }
    rememberRecordedEvent(event);
    if (this.options.delivery === 'publish') {
      await this.eventBus.publish(payload);
      return;
    }
    await runEventHandlers(this.eventBus, this.unhandled, payload);
  }
}
