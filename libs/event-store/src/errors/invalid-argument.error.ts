import { EventStoreErrorCode } from './event-store-error-code.js';
import { EventStoreError } from './event-store.error.js';

/** The request is malformed: a bad stream id, an empty or oversized append, bad paging, bad JSON. */
export class InvalidArgumentError extends EventStoreError {
  readonly code = EventStoreErrorCode.InvalidArgument;

  constructor(message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(message, details, cause);
  }
}
