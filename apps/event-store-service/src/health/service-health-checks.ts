import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { EventStoreHealth, EventStoreHealthIndicator, subscriptionTotals } from '@game-bot/event-store';
import { ServiceSchema } from '../schema/service-schema.js';
import { WEBHOOK_PREFIX } from '../webhooks/webhooks.service.js';
import type { HealthThresholds } from './health-thresholds.js';

/**
 * The service's readiness checks: the library's checks of the store, each under its own key,
 * with the webhooks apart (see {@link webhooks}).
 */
@Injectable()
export class ServiceHealthChecks {
  constructor(
    @Inject(HealthIndicatorService) private readonly indicators: HealthIndicatorService,
    @Inject(EventStoreHealthIndicator) private readonly store: EventStoreHealthIndicator,
    @Inject(EventStoreHealth) private readonly health: EventStoreHealth,
    @Inject(ServiceSchema) private readonly serviceSchema: ServiceSchema,
  ) {}

  /** Every readiness check, in the order the report lists them. */
  checks(thresholds: HealthThresholds): Array<() => Promise<HealthIndicatorResult> | HealthIndicatorResult> {
    return [
      () => this.store.database('database', thresholds.databaseTimeoutMs),
      () => this.migrations(),
      () => this.store.listener('listener'),
      () => this.store.visibility('allVisibility', thresholds),
      () => this.store.subscriptions('subscriptions', { ...thresholds, ignoreSubscription: isWebhook }),
      () => this.webhooks(),
    ];
  }

  /** No migration pending, the store's nor the service's own. */
  async migrations(): Promise<HealthIndicatorResult> {
    const check = this.indicators.check('migrations');
    try {
      const pending = [...(await this.health.pendingMigrations()), ...(await this.serviceSchema.pendingMigrations())];
      return pending.length === 0 ? check.up({ pending: 0 }) : check.down({ pending: pending.length, names: pending });
    } catch (error) {
      return check.down({ message: (error as Error).message });
    }
  }

  /**
   * The webhooks' lag and failures, reported and never `down`: a receiver that is down says
   * nothing of whether this instance can serve, and taking every instance out of a load balancer
   * for it would turn one receiver's outage into the whole service's. Alert on them instead
   * (`event_store_subscription_lag`, `event_store_failed_deliveries`, docs/alert-rules.yml).
   */
  async webhooks(): Promise<HealthIndicatorResult> {
    const check = this.indicators.check('webhooks');
    try {
      return check.up(subscriptionTotals((await this.health.subscriptions()).filter((s) => isWebhook(s.name))));
    } catch (error) {
      return check.down({ message: (error as Error).message });
    }
  }
}

function isWebhook(name: string): boolean {
  return name.startsWith(WEBHOOK_PREFIX);
}
