import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { EventStore } from '../event-store.service.js';
import type { RecordedEvent } from '../types/event-data.js';
import { SUBSCRIBE_TO, type SubscribeToMetadata } from './subscribe-to.decorator.js';

/**
 * Finds the `@SubscribeTo` methods of every provider once the application has booted (as
 * `@nestjs/cqrs` and `@nestjs/schedule` find theirs) and starts their subscriptions; the store
 * stops them all at shutdown.
 */
@Injectable()
export class SubscriptionExplorer implements OnApplicationBootstrap {
  private readonly logger = new Logger(SubscriptionExplorer.name);

  constructor(
    @Inject(DiscoveryService) private readonly discovery: DiscoveryService,
    @Inject(MetadataScanner) private readonly scanner: MetadataScanner,
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(EventStore) private readonly store: EventStore,
  ) {}

  onApplicationBootstrap(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object' || !wrapper.isDependencyTreeStatic()) {
        continue;
      }
      for (const method of this.scanner.getAllMethodNames(Object.getPrototypeOf(instance))) {
        this.start(instance, method);
      }
    }
  }

  private start(instance: Record<string, unknown>, method: string): void {
    const handler = instance[method] as (event: RecordedEvent) => unknown;
    const metadata = this.reflector.get<SubscribeToMetadata | undefined>(SUBSCRIBE_TO, handler);
    if (metadata === undefined) {
      return;
    }
    const { streamId, options } = metadata;
    const { name, ...subscriptionOptions } = options;
    const handle = async (event: RecordedEvent): Promise<void> => {
      await handler.call(instance, event);
    };
    if (name === undefined) {
      this.store.subscribe(streamId, handle, subscriptionOptions);
    } else if (streamId === '$all') {
      this.store.subscribeToAll(name, handle, subscriptionOptions);
    } else {
      this.store.subscribeToStream(streamId, name, handle, subscriptionOptions);
    }
    this.logger.log(`${instance.constructor.name}.${method} subscribed to ${streamId}${name ? ` as '${name}'` : ''}`);
  }
}
