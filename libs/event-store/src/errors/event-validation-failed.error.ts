import { EventStoreErrorCode } from './event-store-error-code.js';
import { EventStoreError } from './event-store.error.js';

/** An event's payload fails its type's schema; `details` lists the failing fields. */
export class EventValidationFailedError extends EventStoreError {
  readonly code = EventStoreErrorCode.EventValidationFailed;

  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message, details);
  }
}
