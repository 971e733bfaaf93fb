import { type INestApplication, Logger, type ValidationError, ValidationPipe } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { InvalidArgumentError } from '../../../../libs/event-store/src/index.js';
import type { ServiceConfig } from '../configuration/service-config.js';
import { requestLogging } from '../logging/request-context.js';
import { EventStoreExceptionFilter } from './event-store-exception.filter.js';
import { GracefulShutdown } from './graceful-shutdown.js';
import { setUpOpenApi } from './openapi.js';

/**
 * The HTTP set-up shared by `main.ts` and the e2e tests: request ids and logs, in-flight counting,
 * the JSON body limit, validation, the one error filter, OpenAPI. The app must be created with
 * `bodyParser: false` (the parser is registered here, with the configured limit).
 */
export function configureHttp(app: INestApplication, config: Pick<ServiceConfig, 'http'>): void {
  const express = app as NestExpressApplication;
  express.use(requestLogging(new Logger('Http')));
  express.use(app.get(GracefulShutdown).middleware);
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
