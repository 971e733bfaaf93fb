import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { answerWithin, checkFailure as failure } from './bounded-check.js';
import { EventStoreHealth, type SubscriptionHealth } from './event-store-health.js';

/** Limits past which the store's checks report `down`; every field has a default. */
export interface EventStoreHealthThresholds {
  /** Database ping timeout. Default `2000` ms. */
  databaseTimeoutMs?: number;
  /**
   * Longest wait for the answer of each other check (migrations, visibility, subscriptions): past
   * it the check reports `down`, "did not answer within N ms", and its statement is cancelled.
   * Default `2000` ms.
   */
  checkTimeoutMs?: number;
  /** Most events a persistent subscription may be behind. Default `10000`. */
  maxSubscriptionLag?: number;
  /** Most failed (not yet dead) deliveries across subscriptions. Default `100`. */
  maxFailedDeliveries?: number;
  /** Most seconds an open transaction may hold `$all` readers back. Default `60`. */
  maxVisibilityLagSeconds?: number;
  /** Subscriptions the subscription check leaves out (e.g. ones reported elsewhere). Default: none. */
  ignoreSubscription?: (name: string) => boolean;
}

/** Lag and failures of some subscriptions, summed. */
export type SubscriptionTotals = {
  count: number;
  maxLag: number;
  failed: number;
  dead: number;
};

const DEFAULTS = {
  databaseTimeoutMs: 2_000,
  checkTimeoutMs: 2_000,
  maxSubscriptionLag: 10_000,
  maxFailedDeliveries: 100,
  maxVisibilityLagSeconds: 60,
};

/**
 * The store's health for a Terminus health check, each check reporting its numbers: the database
 * (ping latency), pending migrations, the notification listener, `$all` visibility lag (the age of
 * the oldest open transaction, which holds `$all` readers back), and the persistent subscriptions'
 * lag and failed deliveries. The caller picks the key, as with Terminus's own indicators. Every
 * check answers within its time limit: one that waits (on a lock, on a busy pool) reports `down`,
 * "did not answer within N ms", rather than holding the whole health check back.
 *
 * @example
 * @Get('health')
 * @HealthCheck()
 * check() {
 *   return this.health.check([() => this.eventStore.isHealthy('eventStore')]);
 * }
 */
@Injectable()
export class EventStoreHealthIndicator {
  /** @internal Made by Nest's injector; not part of the public API. */
  constructor(
    @Inject(HealthIndicatorService) private readonly indicators: HealthIndicatorService,
    @Inject(EventStoreHealth) private readonly health: EventStoreHealth,
  ) {}

  /** Every check under one key: `up` when all are, with each check's numbers. */
  async isHealthy(key: string, thresholds: EventStoreHealthThresholds = {}): Promise<HealthIndicatorResult> {
    const limits = { ...DEFAULTS, ...thresholds };
    const results = await Promise.all([
      this.database('database', limits.databaseTimeoutMs),
      this.migrations('migrations', limits.checkTimeoutMs),
      Promise.resolve(this.listener('listener')),
      this.visibility('allVisibility', limits),
      this.subscriptions('subscriptions', limits),
    ]);
    const checks = Object.assign({}, ...results) as Record<string, { status: string }>;
    const check = this.indicators.check(key);
    return Object.values(checks).every((result) => result.status === 'up') ? check.up(checks) : check.down(checks);
  }

  /** `SELECT 1` within `timeoutMs`, reporting its latency. */
  async database(key: string, timeoutMs = DEFAULTS.databaseTimeoutMs): Promise<HealthIndicatorResult> {
    const check = this.indicators.check(key);
    try {
      return check.up({ latencyMs: await answerWithin(timeoutMs, () => this.health.ping(timeoutMs)) });
    } catch (error) {
      return check.down(failure(error, timeoutMs));
    }
  }

  /** No migration of the store pending, answered within `timeoutMs`. */
  async migrations(key: string, timeoutMs = DEFAULTS.checkTimeoutMs): Promise<HealthIndicatorResult> {
    const check = this.indicators.check(key);
    try {
      const pending = await answerWithin(timeoutMs, () => this.health.pendingMigrations());
      return pending.length === 0 ? check.up({ pending: 0 }) : check.down({ pending: pending.length, names: pending });
    } catch (error) {
      return check.down(failure(error, timeoutMs));
    }
  }

  /**
   * The LISTEN connection is up (or not needed yet). With `notifications: 'poll'` there is none to
   * be down: the check is up and says `mode: 'poll'` (the database check covers the polling).
   */
  listener(key: string): HealthIndicatorResult {
    const check = this.indicators.check(key);
    if (this.health.notifications() === 'poll') {
      return check.up({ mode: 'poll' });
    }
    const connected = this.health.listener();
    return connected === false ? check.down({ connected }) : check.up({ connected: connected ?? 'not started' });
  }

  /** How long the oldest open transaction has held `$all` readers back, against the limit. */
  async visibility(
    key: string,
    thresholds: Pick<EventStoreHealthThresholds, 'maxVisibilityLagSeconds' | 'checkTimeoutMs'> = {},
  ): Promise<HealthIndicatorResult> {
    const check = this.indicators.check(key);
    const maxLagSeconds = thresholds.maxVisibilityLagSeconds ?? DEFAULTS.maxVisibilityLagSeconds;
    const timeoutMs = thresholds.checkTimeoutMs ?? DEFAULTS.checkTimeoutMs;
    try {
      const lagSeconds = await answerWithin(timeoutMs, () => this.health.visibilityLagSeconds(timeoutMs));
      const data = { lagSeconds, maxLagSeconds };
      return lagSeconds <= maxLagSeconds ? check.up(data) : check.down(data);
    } catch (error) {
      return check.down(failure(error, timeoutMs));
    }
  }

  /** Subscription lag and failed-delivery backlog under their limits. */
  async subscriptions(key: string, thresholds: EventStoreHealthThresholds = {}): Promise<HealthIndicatorResult> {
    const check = this.indicators.check(key);
    const maxAllowedLag = thresholds.maxSubscriptionLag ?? DEFAULTS.maxSubscriptionLag;
    const maxAllowedFailed = thresholds.maxFailedDeliveries ?? DEFAULTS.maxFailedDeliveries;
    const ignored = thresholds.ignoreSubscription ?? (() => false);
    const timeoutMs = thresholds.checkTimeoutMs ?? DEFAULTS.checkTimeoutMs;
    try {
      const all = await answerWithin(timeoutMs, () => this.health.subscriptions(timeoutMs));
      const subscriptions = all.filter((s) => !ignored(s.name));
      const data = { ...subscriptionTotals(subscriptions), maxAllowedLag, maxAllowedFailed };
      return data.maxLag <= maxAllowedLag && data.failed <= maxAllowedFailed ? check.up(data) : check.down(data);
    } catch (error) {
      return check.down(failure(error, timeoutMs));
    }
  }
}

/** Count, largest lag, failed and dead deliveries of `subscriptions`. */
export function subscriptionTotals(subscriptions: SubscriptionHealth[]): SubscriptionTotals {
  return {
    count: subscriptions.length,
    maxLag: Math.max(0, ...subscriptions.map((s) => s.lag)),
    failed: subscriptions.reduce((sum, s) => sum + s.failed, 0),
    dead: subscriptions.reduce((sum, s) => sum + s.dead, 0),
  };
}
