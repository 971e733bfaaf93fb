import { EventStoreErrorCode } from './event-store-error-code.js';
import { EventStoreError } from './event-store.error.js';

/** The database could not be reached, even after retries. */
export class StoreUnavailableError extends EventStoreError {
  readonly code = EventStoreErrorCode.StoreUnavailable;

  constructor(message: string, cause?: unknown) {
    super(message, {}, cause);
  }
}
