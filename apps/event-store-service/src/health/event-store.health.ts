import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { EventStore, type SubscriptionHealth } from '../../../../libs/event-store/src/index.js';
import { WEBHOOK_PREFIX } from '../webhooks/webhooks.service.js';
import type { HealthThresholds } from './health-thresholds.js';

/** Terminus indicators of the store, each reporting its numbers. */
@Injectable()
export class EventStoreHealthIndicator {
  constructor(
    @Inject(HealthIndicatorService) private readonly indicators: HealthIndicatorService,
    @Inject(EventStore) private readonly store: EventStore,
  ) {}

  /** `SELECT 1` within the timeout. */
  async database(timeoutMs: number): Promise<HealthIndicatorResult> {
    const check = this.indicators.check('database');
    try {
      return check.up({ latencyMs: await this.store.health().ping(timeoutMs) });
    } catch (error) {
      return check.down({ message: (error as Error).message });
    }
  }

  /** No migration pending. */
  async migrations(): Promise<HealthIndicatorResult> {
    const check = this.indicators.check('migrations');
    try {
      const pending = await this.store.health().pendingMigrations();
      return pending.length === 0 ? check.up({ pending: 0 }) : check.down({ pending: pending.length, names: pending });
    } catch (error) {
      return check.down({ message: (error as Error).message });
    }
  }

  /** The LISTEN connection is up (or not needed yet). */
  listener(): HealthIndicatorResult {
    const check = this.indicators.check('listener');
    const connected = this.store.health().listener();
    return connected === false ? check.down({ connected }) : check.up({ connected: connected ?? 'not started' });
  }

  /** How long the oldest open transaction has held `$all` readers back. */
  async visibility(thresholds: HealthThresholds): Promise<HealthIndicatorResult> {
    const check = this.indicators.check('allVisibility');
    try {
      const lagSeconds = await this.store.health().visibilityLagSeconds();
      const data = { lagSeconds, maxLagSeconds: thresholds.maxVisibilityLagSeconds };
      return lagSeconds <= thresholds.maxVisibilityLagSeconds ? check.up(data) : check.down(data);
    } catch (error) {
      return check.down({ message: (error as Error).message });
    }
  }

  /**
   * Subscription lag and failed-delivery backlog under their limits: the store's subscriptions of
   * this service and of the apps that share its store, webhooks apart (see {@link webhooks}).
   */
  async subscriptions(thresholds: HealthThresholds): Promise<HealthIndicatorResult> {
    const check = this.indicators.check('subscriptions');
    try {
      const subscriptions = (await this.store.health().subscriptions()).filter((s) => !isWebhook(s.name));
      const data = { ...totals(subscriptions), maxAllowedLag: thresholds.maxSubscriptionLag, maxAllowedFailed: thresholds.maxFailedDeliveries };
      const healthy = data.maxLag <= thresholds.maxSubscriptionLag && data.failed <= thresholds.maxFailedDeliveries;
      return healthy ? check.up(data) : check.down(data);
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
      return check.up(totals((await this.store.health().subscriptions()).filter((s) => isWebhook(s.name))));
    } catch (error) {
      return check.down({ message: (error as Error).message });
    }
  }
}

function totals(subscriptions: SubscriptionHealth[]): { count: number; maxLag: number; failed: number; dead: number } {
  return {
    count: subscriptions.length,
    maxLag: Math.max(0, ...subscriptions.map((s) => s.lag)),
    failed: subscriptions.reduce((sum, s) => sum + s.failed, 0),
    dead: subscriptions.reduce((sum, s) => sum + s.dead, 0),
  };
}

function isWebhook(name: string): boolean {
  return name.startsWith(WEBHOOK_PREFIX);
}
