import { Inject, Injectable, Logger } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import type { RecordedEvent } from '../types/event-data.js';
import { SUBSCRIBE_TO, type SubscribeToMetadata } from './subscribe-to.decorator.js';
import type { EventHandler } from './subscription-options.js';

/** A `@SubscribeTo` method found on a provider, ready to be started. */
export interface DiscoveredSubscription extends SubscribeToMetadata {
  /** The method, bound to its provider. */
  handler: EventHandler;
  /** `Class.method`, for logs. */
  label: string;
}

/**
 * Finds the `@SubscribeTo` methods of every provider (as `@nestjs/cqrs` and `@nestjs/schedule`
 * find theirs). It only discovers: the subscriptions module hands what it found to the manager,
 * which runs them. A method on a provider that is not a singleton (request- or transient-scoped)
 * has no one instance to call, so it is reported with a warning instead of being subscribed.
 */
@Injectable()
export class SubscriptionExplorer {
  private readonly logger = new Logger(SubscriptionExplorer.name);

  constructor(
    @Inject(DiscoveryService) private readonly discovery: DiscoveryService,
    @Inject(MetadataScanner) private readonly scanner: MetadataScanner,
    @Inject(Reflector) private readonly reflector: Reflector,
  ) {}

  /** Every `@SubscribeTo` method of the application's singleton providers. */
  explore(): DiscoveredSubscription[] {
    return this.discovery.getProviders().flatMap((wrapper) => this.subscriptionsOf(wrapper));
  }

  private subscriptionsOf(wrapper: InstanceWrapper): DiscoveredSubscription[] {
    const instance = wrapper.instance as Record<string, unknown> | undefined;
    const prototype: unknown =
      instance && typeof instance === 'object'
        ? Object.getPrototypeOf(instance)
        : (wrapper.metatype as { prototype?: unknown } | null)?.prototype;
    if (!prototype || typeof prototype !== 'object') {
      return [];
    }
    const methods = this.scanner.getAllMethodNames(prototype).filter((method) => this.metadataOf(prototype, method) !== undefined);
    if (methods.length === 0) {
      return [];
    }
    if (!wrapper.isDependencyTreeStatic() || wrapper.isTransient || !instance || typeof instance !== 'object') {
      this.logger.warn(
        `${wrapper.name ?? 'A provider'} has @SubscribeTo methods (${methods.join(', ')}) but is not a singleton: they are not subscribed. Make the provider default-scoped.`,
      );
      return [];
    }
    return methods.map((method) => this.discovered(instance, method, this.metadataOf(prototype, method)!));
  }

  private metadataOf(prototype: object, method: string): SubscribeToMetadata | undefined {
    const handler = (prototype as Record<string, unknown>)[method];
    return typeof handler === 'function' ? this.reflector.get<SubscribeToMetadata | undefined>(SUBSCRIBE_TO, handler) : undefined;
  }

  private discovered(instance: Record<string, unknown>, method: string, metadata: SubscribeToMetadata): DiscoveredSubscription {
    const handler = instance[method] as (event: RecordedEvent) => unknown;
    return {
      ...metadata,
      handler: async (event) => {
        await handler.call(instance, event);
      },
      label: `${instance.constructor.name}.${method}`,
    };
  }
}
