/**
 * The stable codes of every failure the event store reports. Library errors carry one in `code`;
 * the service maps each to an HTTP status.
 */
export const EventStoreErrorCode = {
  WrongExpectedVersion: 'WRONG_EXPECTED_VERSION',
  StreamNotFound: 'STREAM_NOT_FOUND',
  StreamDeleted: 'STREAM_DELETED',
  DuplicateEvent: 'DUPLICATE_EVENT',
  InvalidArgument: 'INVALID_ARGUMENT',
  UnknownEventType: 'UNKNOWN_EVENT_TYPE',
  EventValidationFailed: 'EVENT_VALIDATION_FAILED',
  UnsupportedSchemaVersion: 'UNSUPPORTED_SCHEMA_VERSION',
  CorruptedEvent: 'CORRUPTED_EVENT',
  Unauthorized: 'UNAUTHORIZED',
  Forbidden: 'FORBIDDEN',
  StoreUnavailable: 'STORE_UNAVAILABLE',
  Timeout: 'TIMEOUT',
  AppendConditionFailed: 'APPEND_CONDITION_FAILED',
} as const;

/** One of the values of {@link EventStoreErrorCode}. */
export type EventStoreErrorCode = (typeof EventStoreErrorCode)[keyof typeof EventStoreErrorCode];
