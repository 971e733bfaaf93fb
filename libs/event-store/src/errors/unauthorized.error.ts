import { EventStoreErrorCode } from './event-store-error-code.js';
import { EventStoreError } from './event-store.error.js';

/** The caller gave no credentials, or credentials the store does not know. */
export class UnauthorizedError extends EventStoreError {
  readonly code = EventStoreErrorCode.Unauthorized;

  constructor(message = 'Missing or invalid credentials: send a bearer token') {
    super(message);
  }
}
