import { type DynamicModule, Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { TerminusModule } from '@nestjs/terminus';
import { EventStoreModule } from '@game-bot/event-store';
import type { ServiceConfig } from './configuration/service-config.js';
import { ServiceHealthChecks } from './health/service-health-checks.js';
import { ServiceSchema } from './schema/service-schema.js';
import { HealthController } from './health/health.controller.js';
import { HEALTH_THRESHOLDS } from './health/health.tokens.js';
import { AllController } from './http/all.controller.js';
import { AppendController } from './http/append.controller.js';
import { MetricsController } from './metrics/metrics.controller.js';
import { MetricsService } from './metrics/metrics.service.js';
import { APP_GUARD } from '@nestjs/core';
import { AccessTokens } from './auth/access-tokens.js';
import { BearerTokenGuard, PUBLIC_OBSERVABILITY } from './auth/bearer-token.guard.js';
import { StreamsController } from './http/streams.controller.js';
import { SubjectsController } from './http/subjects.controller.js';
import { GracefulShutdown, SHUTDOWN_GRACE_MS } from './http/graceful-shutdown.js';
import { LiveController } from './live/live.controller.js';
import { LiveEvents } from './live/live-events.service.js';
import { LIVE_LIMITS } from './live/live-limits.js';
import { ScavengeJob } from './retention/scavenge.job.js';
import { SCAVENGE_SETTINGS } from './retention/scavenge-settings.js';
import { SubscriptionsController } from './webhooks/subscriptions.controller.js';
import { WEBHOOK_SETTINGS, Webhooks } from './webhooks/webhooks.service.js';
import { WebhooksRepository } from './webhooks/webhooks.repository.js';
import { ServiceTracing } from './tracing/service-tracing.js';
import { EventsController } from './http/events.controller.js';
import { SessionController } from './auth/session.controller.js';

/** The service's root module, built from the validated configuration. */
@Module({})
export class AppModule {
  /** The module for one configuration. */
  static register(config: ServiceConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [ScheduleModule.forRoot(), TerminusModule, EventStoreModule.forRoot(config.eventStore)],
      controllers: [
        StreamsController,
        AppendController,
        AllController,
        LiveController,
        SubscriptionsController,
        SubjectsController,
        HealthController,
        MetricsController,
        EventsController,
        SessionController,
      ],
      providers: [
        ServiceSchema,
        ServiceHealthChecks,
        { provide: HEALTH_THRESHOLDS, useValue: config.health },
        MetricsService,
        { provide: AccessTokens, useValue: new AccessTokens(config.auth.tokens) },
        { provide: PUBLIC_OBSERVABILITY, useValue: config.auth.publicHealthAndMetrics },
        { provide: APP_GUARD, useClass: BearerTokenGuard },
        GracefulShutdown,
        { provide: SHUTDOWN_GRACE_MS, useValue: config.http.shutdownGraceMs },
        LiveEvents,
        { provide: LIVE_LIMITS, useValue: config.live },
        ScavengeJob,
        { provide: SCAVENGE_SETTINGS, useValue: config.scavenge },
        WebhooksRepository,
        Webhooks,
        { provide: WEBHOOK_SETTINGS, useValue: config.webhooks },
        { provide: ServiceTracing, useFactory: () => ServiceTracing.start(config.tracing) },
      ],
    };
  }
}
