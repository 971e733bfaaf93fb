import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { EventStore } from '../../../../libs/event-store/src/index.js';
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

  /** Subscription lag and failed-delivery backlog under their limits. */
  async subscriptions(thresholds: HealthThresholds): Promise<HealthIndicatorResult> {
    const check = this.indicators.check('subscriptions');
    try {
      const subscriptions = await this.store.health().subscriptions();
      const maxLag = Math.max(0, ...subscriptions.map((s) => s.lag));
      const failed = subscriptions.reduce((sum, s) => sum + s.failed, 0);
      const dead = subscriptions.reduce((sum, s) => sum + s.dead, 0);
      const data = { count: subscriptions.length, maxLag, failed, dead, maxAllowedLag: thresholds.maxSubscriptionLag, maxAllowedFailed: thresholds.maxFailedDeliveries };
      const healthy = maxLag <= thresholds.maxSubscriptionLag && failed <= thresholds.maxFailedDeliveries;
      return healthy ? check.up(data) : check.down(data);
    } catch (error) {
      return check.down({ message: (error as Error).message });
    }
  }
}
