import { EventStoreErrorCode } from './event-store-error-code.js';
import { EventStoreError } from './event-store.error.js';

/** The operation did not finish within its deadline (statement timeout or retry deadline). */
export class EventStoreTimeoutError extends EventStoreError {
  readonly code = EventStoreErrorCode.Timeout;

  constructor(message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(message, details, cause);
  }
}
