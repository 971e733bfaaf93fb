import { EventStoreErrorCode } from './event-store-error-code.js';
import { EventStoreError } from './event-store.error.js';

/** The event type is not registered, and the store is configured to require registration. */
export class UnknownEventTypeError extends EventStoreError {
  readonly code = EventStoreErrorCode.UnknownEventType;

  constructor(eventType: string) {
    super(`Event type '${eventType}' is not registered: register its class or allow unregistered types`, { eventType });
  }
}
