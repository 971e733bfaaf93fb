import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { EventStorageModule } from '../storage/event-storage.module.js';
import { EventSubscriptionsModule } from '../subscriptions/event-subscriptions.module.js';
import { EventStoreHealth } from './event-store-health.js';
import { EventStoreHealthIndicator } from './event-store-health.indicator.js';

/**
 * The store's health: the numbers (database latency, pending migrations, listener, `$all`
 * visibility lag, subscription lag and failures, pool usage) and a Terminus indicator over them
 * that host apps add to their own health check.
 */
@Module({
  imports: [EventStorageModule, EventSubscriptionsModule, TerminusModule],
  providers: [EventStoreHealth, EventStoreHealthIndicator],
  exports: [EventStoreHealth, EventStoreHealthIndicator],
})
export class EventStoreHealthModule {}
