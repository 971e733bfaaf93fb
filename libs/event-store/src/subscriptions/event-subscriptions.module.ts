import { Inject, Logger, Module, type OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { EventStorageModule } from '../storage/event-storage.module.js';
import { EventNotifier } from './event-notifier.js';
import { FailedDeliveryWorker } from './failed-delivery.worker.js';
import { SubscriptionExplorer, type DiscoveredSubscription } from './subscription-explorer.js';
import { SubscriptionManager } from './subscription-manager.js';

/**
 * Subscriptions: the notifier that wakes them (LISTEN/NOTIFY, polling as the fallback), the
 * manager that runs them (leases, checkpoints, groups, failed deliveries), the scheduled worker
 * that retries failed deliveries, and the explorer of `@SubscribeTo` methods, whose finds are
 * started once the application has booted (as `@nestjs/cqrs` registers its handlers).
 */
@Module({
  imports: [EventStorageModule, DiscoveryModule],
  providers: [EventNotifier, SubscriptionManager, FailedDeliveryWorker, SubscriptionExplorer],
  exports: [EventNotifier, SubscriptionManager, FailedDeliveryWorker],
})
export class EventSubscriptionsModule implements OnApplicationBootstrap {
  private readonly logger = new Logger(EventSubscriptionsModule.name);

  constructor(
    @Inject(SubscriptionExplorer) private readonly explorer: SubscriptionExplorer,
    @Inject(SubscriptionManager) private readonly manager: SubscriptionManager,
  ) {}

  onApplicationBootstrap(): void {
    this.explorer.explore().forEach((found) => this.start(found));
  }

  private start({ streamId, options, handler, label }: DiscoveredSubscription): void {
    const { name, ...subscriptionOptions } = options;
    if (name === undefined) {
      this.manager.subscribe(streamId, handler, subscriptionOptions);
    } else if (streamId === '$all') {
      this.manager.subscribeToAll(name, handler, subscriptionOptions);
    } else {
      this.manager.subscribeToStream(streamId, name, handler, subscriptionOptions);
    }
    this.logger.log(`${label} subscribed to ${streamId}${name ? ` as '${name}'` : ''}`);
  }
}
