import { Inject, Logger, Module, type OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { EventStorageModule } from '../storage/event-storage.module.js';
import { EventSubscriptionsModule } from '../subscriptions/event-subscriptions.module.js';
import { EventTransactionsModule } from '../transactions/event-transactions.module.js';
import { ProjectionExplorer } from './projection-explorer.js';
import { ProjectionManager } from './projection-manager.js';
import { ProjectionsRepository } from './projections.repository.js';

/**
 * Projections: the explorer of `@Projection` providers, whose finds are started once the
 * application has booted (as `@nestjs/cqrs` registers its handlers), the manager that runs them
 * (leases, batches, halts, rebuilds) and stops them at shutdown, before the database closes, and
 * the repository of their rows. Above subscriptions (the notifier wakes them) and transactions
 * (each batch is one).
 */
@Module({
  imports: [EventStorageModule, EventSubscriptionsModule, EventTransactionsModule, DiscoveryModule],
  providers: [ProjectionsRepository, ProjectionManager, ProjectionExplorer],
  exports: [ProjectionManager],
})
export class EventProjectionsModule implements OnApplicationBootstrap {
  private readonly logger = new Logger(EventProjectionsModule.name);

  /** @internal Made by Nest's injector. */
  constructor(
    @Inject(ProjectionExplorer) private readonly explorer: ProjectionExplorer,
    @Inject(ProjectionManager) private readonly manager: ProjectionManager,
  ) {}

  onApplicationBootstrap(): void {
    for (const { name, options, handler, label } of this.explorer.explore()) {
      this.manager.start(name, handler, options);
      this.logger.log(`${label} runs projection '${name}'`);
    }
  }
}
