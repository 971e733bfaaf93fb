import { EventStoreErrorCode } from './event-store-error-code.js';
import { EventStoreError } from './event-store.error.js';

/** The stream does not exist (it has no events, or it was hard-deleted). */
export class StreamNotFoundError extends EventStoreError {
  readonly code = EventStoreErrorCode.StreamNotFound;

  constructor(streamId: string) {
    super(`Stream '${streamId}' does not exist`, { streamId });
  }
}
