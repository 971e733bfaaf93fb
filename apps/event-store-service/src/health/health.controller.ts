import { Observability } from '../auth/requires-role.decorator.js';
import { Controller, Get, Inject } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { ApiErrorResponse, HealthReportModel } from '../http/api-models.js';
import { ServiceHealthChecks } from './service-health-checks.js';
import { HEALTH_THRESHOLDS } from './health.tokens.js';
import type { HealthThresholds } from './health-thresholds.js';

/** Terminus health: `live` (the process answers), `ready` and the bare path (the store's checks). */
@ApiTags('health')
@ApiBearerAuth()
@ApiErrorResponse(
  401,
  'Only when health and metrics are not public (`PUBLIC_HEALTH_AND_METRICS=false`) and no known bearer token was sent (any role may read them).',
  'UNAUTHORIZED',
)
@Observability()
@Controller('health')
export class HealthController {
  constructor(
    @Inject(HealthCheckService) private readonly health: HealthCheckService,
    @Inject(ServiceHealthChecks) private readonly store: ServiceHealthChecks,
    @Inject(HEALTH_THRESHOLDS) private readonly thresholds: HealthThresholds,
  ) {}

  /** The store: database, migrations, listener, `$all` visibility, subscriptions. */
  @ApiOperation({
    summary: 'Health of the store (same as /health/ready)',
    description:
      'Database, migrations, notification listener, `$all` visibility lag, subscription lag and failed deliveries, each with its numbers.',
  })
  @ApiOkResponse({ type: HealthReportModel, description: 'Every check is up.' })
  @ApiServiceUnavailableResponse({
    type: HealthReportModel,
    description: 'A check is down (see `error`), or the service is shutting down.',
  })
  @Get()
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  check(): Promise<HealthCheckResult> {
    return this.ready();
  }

  /** Liveness: the process answers. */
  @ApiOperation({ summary: 'Liveness', description: 'The process answers; checks nothing else. For a liveness probe.' })
  @ApiOkResponse({ type: HealthReportModel, description: 'The process is alive.' })
  @ApiServiceUnavailableResponse({ type: HealthReportModel, description: 'The service is shutting down.' })
  @Get('live')
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  /** Readiness: every check of the store. */
  @ApiOperation({
    summary: 'Readiness',
    description:
      'Every check of the store, each with its numbers (thresholds in `.env.example`); webhooks are reported (`webhooks`) but never make it down. For a readiness probe.',
  })
  @ApiOkResponse({ type: HealthReportModel, description: 'Every check is up.' })
  @ApiServiceUnavailableResponse({
    type: HealthReportModel,
    description: 'A check is down (see `error`), or the service is shutting down.',
  })
  @Get('ready')
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  ready(): Promise<HealthCheckResult> {
    return this.health.check(this.store.checks(this.thresholds));
  }
}
