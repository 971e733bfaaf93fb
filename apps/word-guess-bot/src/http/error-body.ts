import { HttpException } from '@nestjs/common';

/**
 * An error answer in the body the store's own errors have (`EventStoreExceptionFilter`):
 * `{ statusCode, code, message, details }`, so that clients read one shape.
 */
export function httpError(statusCode: number, code: string, message: string, details: Record<string, unknown> = {}): HttpException {
  return new HttpException({ statusCode, code, message, details }, statusCode);
}
