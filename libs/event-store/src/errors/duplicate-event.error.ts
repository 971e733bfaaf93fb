import { EventStoreErrorCode } from './event-store-error-code.js';
import { EventStoreError } from './event-store.error.js';

/**
 * An event id in the append is already stored elsewhere (another stream or another version).
 * Re-sending the very same append to the same place is not an error: it is an idempotent retry.
 */
export class DuplicateEventError extends EventStoreError {
  readonly code = EventStoreErrorCode.DuplicateEvent;

  constructor(eventId: string, streamId: string, cause?: unknown) {
    super(
      `Event id ${eventId} is already stored elsewhere than this append to '${streamId}': use a new event id`,
      { eventId, streamId },
      cause,
    );
  }
}
