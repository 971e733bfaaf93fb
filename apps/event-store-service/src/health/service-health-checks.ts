import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { EventStoreHealth, EventStoreHealthIndicator, subscriptionTotals } from '@game-bot/event-store';
import { answerWithin, checkFailure as failure } from '@game-bot/event-store/internal';
import { ServiceSchema } from '../schema/service-schema.js';
import { WEBHOOK_PREFIX } from '../webhooks/webhooks.service.js';
import type { HealthThresholds } from './health-thresholds.js';

/**
 * The service's readiness checks: the library's checks of the store, each under its own key,
 * with the webhooks apart (see {@link webhooks}). Terminus runs them side by side and each answers
 * within `readyTimeoutMs` (HEALTH_READY_TIMEOUT_MS), so the report does too: a check held up (a
 * lock on the events table, a busy pool) reports `down`, "did not answer within N ms", under its
 * own key, instead of delaying the report and getting another check blamed.
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
    const timeoutMs = thresholds.readyTimeoutMs;
    const limits = { ...thresholds, checkTimeoutMs: timeoutMs };
    return [
      () => this.store.database('database', Math.min(thresholds.databaseTimeoutMs, timeoutMs)),
      () => this.migrations(timeoutMs),
      () => this.store.listener('listener'),
      () => this.store.visibility('allVisibility', limits),
      () => this.store.subscriptions('subscriptions', { ...limits, ignoreSubscription: isWebhook }),
      () => this.webhooks(timeoutMs),
    ];
  }

  /** No migration pending, the store's nor the service's own, answered within `timeoutMs`. */
  async migrations(timeoutMs: number): Promise<HealthIndicatorResult> {
    const check = this.indicators.check('migrations');
    try {
      const lists = await answerWithin(timeoutMs, () =>
        Promise.all([this.health.pendingMigrations(), this.serviceSchema.pendingMigrations()]),
      );
      const pending = lists.flat();
      return pending.length === 0 ? check.up({ pending: 0 }) : check.down({ pending: pending.length, names: pending });
    } catch (error) {
      return check.down(failure(error, timeoutMs));
    }
  }

  /**
   * The webhooks' lag and failures, reported and never `down`: a receiver that is down says
   * nothing of whether this instance can serve, and taking every instance out of a load balancer
   * for it would turn one receiver's outage into the whole service's. Alert on them instead
   * (`event_store_subscription_lag`, `event_store_failed_deliveries`, docs/alert-rules.yml).
   */
  async webhooks(timeoutMs: number): Promise<HealthIndicatorResult> {
    const check = this.indicators.check('webhooks');
    try {
      const subscriptions = await answerWithin(timeoutMs, () => this.health.subscriptions(timeoutMs));
      return check.up(subscriptionTotals(subscriptions.filter((s) => isWebhook(s.name))));
    } catch (error) {
      return check.down(failure(error, timeoutMs));
    }
  }
}

function isWebhook(name: string): boolean {
  return name.startsWith(WEBHOOK_PREFIX);
}
