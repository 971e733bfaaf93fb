import { Inject, Injectable, Logger } from '@nestjs/common';
import { DiscoveryService, Reflector } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import type { ProjectionHandler } from './projection-handler.js';
import { PROJECTION, type ProjectionMetadata } from './projection.decorator.js';

/** A `@Projection` provider found at boot, ready to be started. */
export interface DiscoveredProjection extends ProjectionMetadata {
  /** The provider's instance. */
  handler: ProjectionHandler;
  /** The provider's class name, for logs. */
  label: string;
}

/**
 * Finds the `@Projection` providers of the application (as `@nestjs/cqrs` finds its handlers). It
 * only discovers: the projections module hands what it found to the manager, which runs them. A
 * provider that is not a singleton (request- or transient-scoped) has no one instance to run, so
 * it is reported with a warning naming it instead of being started.
 */
@Injectable()
export class ProjectionExplorer {
  private readonly logger = new Logger(ProjectionExplorer.name);

  /** @internal Made by Nest's injector. */
  constructor(
    @Inject(DiscoveryService) private readonly discovery: DiscoveryService,
    @Inject(Reflector) private readonly reflector: Reflector,
  ) {}

  /** Every `@Projection` singleton provider of the application. */
  explore(): DiscoveredProjection[] {
    return this.discovery.getProviders().flatMap((wrapper) => this.projectionOf(wrapper));
  }

  private projectionOf(wrapper: InstanceWrapper): DiscoveredProjection[] {
    const instance = wrapper.instance as object | undefined;
    const type: unknown = instance && typeof instance === 'object' ? instance.constructor : wrapper.metatype;
    if (typeof type !== 'function') {
      return [];
    }
    const metadata = this.reflector.get<ProjectionMetadata | undefined>(PROJECTION, type as new () => unknown);
    if (metadata === undefined) {
      return [];
    }
    if (!wrapper.isDependencyTreeStatic() || wrapper.isTransient || !instance || typeof instance !== 'object') {
      this.logger.warn(
        `${wrapper.name ?? type.name} is a @Projection('${metadata.name}') but not a singleton: it is not started. Make the provider default-scoped.`,
      );
      return [];
    }
    return [{ ...metadata, handler: instance as ProjectionHandler, label: type.name }];
  }
}
