import { EventStoreErrorCode } from './event-store-error-code.js';
import { EventStoreError } from './event-store.error.js';

/** The stream was soft-deleted: it can no longer be read or appended to (its events stay in `$all`). */
export class StreamDeletedError extends EventStoreError {
  readonly code = EventStoreErrorCode.StreamDeleted;

  constructor(streamId: string) {
    super(`Stream '${streamId}' is deleted: hard-delete it to reuse its id`, { streamId });
  }
}
