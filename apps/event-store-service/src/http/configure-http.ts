import { type INestApplication, ValidationPipe } from '@nestjs/common';
import { InvalidArgumentError } from '../../../../libs/event-store/src/index.js';
import { EventStoreExceptionFilter } from './event-store-exception.filter.js';
import { setUpOpenApi } from './openapi.js';

/** The HTTP set-up shared by `main.ts` and the e2e tests: validation, the one error filter, OpenAPI. */
export function configureHttp(app: INestApplication): void {
  setUpOpenApi(app);
  app.useGlobalFilters(new EventStoreExceptionFilter());
  app.useGlobalPipes(
    new ValidationPipe({
      transform: true,
      exceptionFactory: (errors) => {
        const fields = errors.map((error) => ({ property: error.property, constraints: error.constraints ?? {} }));
        const message = fields.flatMap((field) => Object.values(field.constraints)).join('; ') || 'Invalid request';
        return new InvalidArgumentError(message, { fields });
      },
    }),
  );
}
