import { EventStoreErrorCode } from '../errors/event-store-error-code.js';
import { EventStoreError } from '../errors/event-store.error.js';

/**
 * A subject's key is stored but cannot be used by this instance: it is wrapped by a master key
 * that is not configured here (or none is), or its stored bytes do not unwrap (altered). Nothing
 * is read or written for that subject until the configuration is fixed. Code `STORE_UNAVAILABLE`.
 */
export class SubjectKeyUnavailableError extends EventStoreError {
  readonly code = EventStoreErrorCode.StoreUnavailable;

  constructor(subjectId: string, reason: string) {
    super(`The key of data subject '${subjectId}' cannot be used: ${reason}`, { subjectId });
  }
}
