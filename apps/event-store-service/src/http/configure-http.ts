import { type INestApplication, Logger, type ValidationError, ValidationPipe } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import { InvalidArgumentError } from '@game-bot/event-store';
import { MetricsService } from '../metrics/metrics.service.js';
import { EventStoreExceptionFilter } from './event-store-exception.filter.js';
import { GracefulShutdown } from './graceful-shutdown.js';
import { acceptJsonBodies } from './http-adapter.js';
import type { ServiceConfig } from '../configuration/service-config.js';
import { setUpOpenApi } from './openapi.js';
import { watchRequests } from './request-lifecycle.js';

/**
 * The HTTP set-up shared by `main.ts` and the e2e tests, on the Fastify adapter of
 * `createHttpAdapter`: request ids, logs, metrics and in-flight counting, validation, the one error
 * filter, OpenAPI.
 */
export function configureHttp(app: INestApplication, config: Pick<ServiceConfig, 'http'>): void {
  const fastify = app.getHttpAdapter().getInstance() as FastifyInstance;
  acceptJsonBodies(app, config);
  watchRequests(fastify, { logger: new Logger('Http'), metrics: app.get(MetricsService), shutdown: app.get(GracefulShutdown) });
  setUpOpenApi(app);
  app.useGlobalFilters(new EventStoreExceptionFilter(app.getHttpAdapter(), config.http.bodyLimitBytes));
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
