import { HttpStatus } from '@nestjs/common';

/**
 * An error of the service's own resources (webhook subscriptions), with its stable `code` and
 * HTTP status; the exception filter renders it like the store's errors.
 */
export class ServiceError extends Error {
  override readonly name = 'ServiceError';

  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** 503 `SHUTTING_DOWN`: the instance is stopping; `retry` says what the client should do instead. */
export function shuttingDown(retry = 'retry on another instance'): ServiceError {
  return new ServiceError(HttpStatus.SERVICE_UNAVAILABLE, 'SHUTTING_DOWN', `The service is shutting down: ${retry}`);
}
