import { HttpStatus } from '@nestjs/common';
import { EventStoreErrorCode } from '../errors/event-store-error-code.js';
import type { EventStoreError } from '../errors/event-store.error.js';
import type { ErrorBody } from './error-body.js';

/** The HTTP status of each error code of the store. */
export const EVENT_STORE_ERROR_STATUS: Readonly<Record<EventStoreErrorCode, number>> = {
  [EventStoreErrorCode.WrongExpectedVersion]: HttpStatus.CONFLICT,
  [EventStoreErrorCode.StreamNotFound]: HttpStatus.NOT_FOUND,
  [EventStoreErrorCode.StreamDeleted]: HttpStatus.GONE,
  [EventStoreErrorCode.DuplicateEvent]: HttpStatus.CONFLICT,
  [EventStoreErrorCode.InvalidArgument]: HttpStatus.BAD_REQUEST,
  [EventStoreErrorCode.UnknownEventType]: HttpStatus.BAD_REQUEST,
  [EventStoreErrorCode.EventValidationFailed]: HttpStatus.UNPROCESSABLE_ENTITY,
  [EventStoreErrorCode.UnsupportedSchemaVersion]: HttpStatus.UNPROCESSABLE_ENTITY,
  [EventStoreErrorCode.CorruptedEvent]: HttpStatus.INTERNAL_SERVER_ERROR,
  [EventStoreErrorCode.Unauthorized]: HttpStatus.UNAUTHORIZED,
  [EventStoreErrorCode.Forbidden]: HttpStatus.FORBIDDEN,
  [EventStoreErrorCode.StoreUnavailable]: HttpStatus.SERVICE_UNAVAILABLE,
  [EventStoreErrorCode.Timeout]: HttpStatus.GATEWAY_TIMEOUT,
  [EventStoreErrorCode.AppendConditionFailed]: HttpStatus.CONFLICT,
};

/** The error body of a store error, with the status its code maps to. */
export function errorBodyOf(error: EventStoreError): ErrorBody {
  return { statusCode: EVENT_STORE_ERROR_STATUS[error.code], code: error.code, message: error.message, details: error.details };
}
