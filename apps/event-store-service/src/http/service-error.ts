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
