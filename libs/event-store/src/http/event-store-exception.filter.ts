import { type ArgumentsHost, Catch, type ExceptionFilter, Inject, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { EventStoreError } from '../errors/event-store.error.js';
import { errorBodyOf } from './error-status.js';

/**
 * Answers the store's errors over HTTP: the status of their code (409 for a conflict, 404, 410,
 * 400, 422, 503, 504, ...) and the body `{ statusCode, code, message, details }`. Works on the
 * Express and Fastify adapters. Other exceptions are left to the app's other filters.
 *
 * @example
 * // main.ts
 * app.useGlobalFilters(new EventStoreExceptionFilter(app.get(HttpAdapterHost)));
 *
 * @example
 * // or as a provider of the root module
 * providers: [{ provide: APP_FILTER, useClass: EventStoreExceptionFilter }]
 */
@Catch(EventStoreError)
export class EventStoreExceptionFilter implements ExceptionFilter<EventStoreError> {
  private readonly logger = new Logger(EventStoreExceptionFilter.name);

  constructor(@Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost) {}

  catch(error: EventStoreError, host: ArgumentsHost): void {
    const body = errorBodyOf(error);
    if (body.statusCode >= 500) {
      this.logger.error(`${body.code}: ${body.message}`);
    }
    this.adapterHost.httpAdapter.reply(host.switchToHttp().getResponse(), body, body.statusCode);
  }
}
