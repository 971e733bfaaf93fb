import { Observability } from '../auth/requires-role.decorator.js';
import { Controller, Get, Header, Inject } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { ApiErrorResponse } from '../http/api-models.js';
import { MetricsService } from './metrics.service.js';

/** `GET /metrics`: Prometheus text format. */
@ApiTags('metrics')
@ApiBearerAuth()
@ApiErrorResponse(
  401,
  'Only when health and metrics are not public (`PUBLIC_HEALTH_AND_METRICS=false`) and no known bearer token was sent (any role may read them).',
  'UNAUTHORIZED',
)
@Observability()
@Controller('metrics')
export class MetricsController {
  constructor(@Inject(MetricsService) private readonly metrics: MetricsService) {}

  /** The metrics, scraped. */
  @ApiOperation({
    summary: 'Prometheus metrics',
    description:
      'Append and read latency, events appended, subscription deliveries, lag and failed deliveries, pool use, `$all` visibility lag, HTTP latency by route and status.',
  })
  @ApiProduces('text/plain')
  @ApiOkResponse({
    description: 'The metrics in the Prometheus text exposition format (version 0.0.4).',
    schema: {
      type: 'string',
      example:
        '# HELP event_store_events_appended_total Events appended\n# TYPE event_store_events_appended_total counter\nevent_store_events_appended_total 42\n',
    },
  })
  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
