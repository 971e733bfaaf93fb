import { EventStoreErrorCode } from './event-store-error-code.js';
import { EventStoreError } from './event-store.error.js';

/** The caller's credentials are valid but do not allow the operation. */
export class ForbiddenError extends EventStoreError {
  readonly code = EventStoreErrorCode.Forbidden;

  constructor(message = 'These credentials do not allow this operation') {
    super(message);
  }
}
