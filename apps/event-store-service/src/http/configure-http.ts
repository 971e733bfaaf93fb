import { type INestApplication, Logger, type ValidationError, ValidationPipe } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { InvalidArgumentError } from '../../../../libs/event-store/src/index.js';
import type { ServiceConfig } from '../configuration/service-config.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { EventStoreExceptionFilter } from './event-store-exception.filter.js';
import { GracefulShutdown } from './graceful-shutdown.js';
import { setUpOpenApi } from './openapi.js';
import { requestLifecycle } from './request-lifecycle.js';

/**
 * The HTTP set-up shared by `main.ts` and the e2e tests: request ids, logs, metrics and in-flight counting,
 * the JSON body limit, validation, the one error filter, OpenAPI. The app must be created with
 * `bodyParser: false` (the parser is registered here, with the configured limit).
 */
export function configureHttp(app: INestApplication, config: Pick<ServiceConfig, 'http'>): void {
  const express = app as NestExpressApplication;
  // Answers are dynamic: an ETag per answer (a hash of every body) would only cost time.
  express.set('etag', false);
  express.disable('x-powered-by');
  express.use(requestLifecycle({ logger: new Logger('Http'), metrics: app.get(MetricsService), shutdown: app.get(GracefulShutdown) }));
  express.useBodyParser('json', { limit: config.http.bodyLimitBytes });
  setUpOpenApi(app);
  app.useGlobalFilters(new EventStoreExceptionFilter(config.http.bodyLimitBytes));
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
