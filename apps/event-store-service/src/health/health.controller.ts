import { Observability } from '../auth/requires-role.decorator.js';
import { Controller, Get, Inject } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { EventStoreHealthIndicator } from './event-store.health.js';
import { HEALTH_THRESHOLDS } from './health.tokens.js';
import type { HealthThresholds } from './health-thresholds.js';

/** Terminus health: `live` (the process answers), `ready` and the bare path (the store's checks). */
@Observability()
@Controller('health')
export class HealthController {
  constructor(
    @Inject(HealthCheckService) private readonly health: HealthCheckService,
    @Inject(EventStoreHealthIndicator) private readonly store: EventStoreHealthIndicator,
    @Inject(HEALTH_THRESHOLDS) private readonly thresholds: HealthThresholds,
  ) {}

  /** The store: database, migrations, listener, `$all` visibility, subscriptions. */
  @Get()
  @HealthCheck()
  check(): Promise<HealthCheckResult> {
    return this.ready();
  }

  /** Liveness: the process answers. */
  @Get('live')
  @HealthCheck()
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  /** Readiness: every check of the store. */
  @Get('ready')
  @HealthCheck()
  ready(): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.store.database(this.thresholds.databaseTimeoutMs),
      () => this.store.migrations(),
      () => this.store.listener(),
      () => this.store.visibility(this.thresholds),
      () => this.store.subscriptions(this.thresholds),
    ]);
  }
}
