import { type INestApplication, Logger, type ValidationError, ValidationPipe } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import { InvalidArgumentError } from '@game-bot/event-store';
import { MetricsService } from '../metrics/metrics.service.js';
import { AccessTokens } from '../auth/access-tokens.js';
import { checkTokensOnRequest } from '../auth/bearer-token.hook.js';
import { PUBLIC_OBSERVABILITY } from '../auth/bearer-token.guard.js';
import { EventStoreExceptionFilter } from './event-store-exception.filter.js';
import { answerWhileClosing, GracefulShutdown } from './graceful-shutdown.js';
import { acceptJsonBodies, ServiceHttpAdapter } from './http-adapter.js';
import type { ServiceConfig } from '../configuration/service-config.js';
import { setUpOpenApi } from './openapi.js';
import { serveAdminConsole } from '../admin/admin-console.js';
import { watchRequests } from './request-lifecycle.js';
import { RequestTraceInterceptor, traceRequests } from '../tracing/http-tracing.js';

/**
 * The HTTP set-up shared by `main.ts` and the e2e tests, on the Fastify adapter of
 * `createHttpAdapter`: request spans, request ids, logs, metrics and in-flight counting, the answers while
 * shutting down, the bearer token (checked before the body is read), validation, the one error
 * filter, OpenAPI, the admin console.
 */
export function configureHttp(app: INestApplication, config: Pick<ServiceConfig, 'http'>): void {
  const adapter = app.getHttpAdapter();
  const fastify = adapter.getInstance() as FastifyInstance;
  const shutdown = app.get(GracefulShutdown);
  shutdown.useDrainPeriod(config.http.shutdownDrainMs);
  if (adapter instanceof ServiceHttpAdapter) adapter.onClosing(() => shutdown.stopAccepting());
  acceptJsonBodies(app, config);
  // `onRequest` hooks run in this order: the request's span starts, it is counted and logged, then
  // refused while shutting down, then without the token its route needs.
  traceRequests(fastify);
  watchRequests(fastify, { logger: new Logger('Http'), metrics: app.get(MetricsService), shutdown });
  answerWhileClosing(fastify, shutdown);
  checkTokensOnRequest(fastify, app.get(AccessTokens), app.get<boolean>(PUBLIC_OBSERVABILITY));
  setUpOpenApi(app);
  serveAdminConsole(fastify);
  app.useGlobalInterceptors(new RequestTraceInterceptor());
  app.useGlobalFilters(new EventStoreExceptionFilter(adapter, config.http.bodyLimitBytes));
  app.useGlobalPipes(
    new ValidationPipe({
      transform: true,
      exceptionFactory: (errors) => {
        const fields = flatten(errors);
        const message = fields.flatMap((field) => Object.values(field.constraints)).join('; ') || 'Invalid request';
        return new InvalidArgumentError(message, { fields });
      },
    }),
  );
}

/** Every failed constraint, nested objects' included, with its dotted property path. */
function flatten(errors: ValidationError[], parent = ''): Array<{ property: string; constraints: Record<string, string> }> {
  return errors.flatMap((error) => {
    const property = parent === '' ? error.property : `${parent}.${error.property}`;
    const own = error.constraints === undefined ? [] : [{ property, constraints: error.constraints }];
    return [...own, ...flatten(error.children ?? [], property)];
  });
}
