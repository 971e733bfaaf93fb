import { EventStoreErrorCode } from './event-store-error-code.js';
import { EventStoreError } from './event-store.error.js';

/**
 * The stream is not at the version the writer expected: another writer got there first.
 * `details.actualVersion` is the stream's version now; re-read and decide again.
 */
export class WrongExpectedVersionError extends EventStoreError {
  readonly code = EventStoreErrorCode.WrongExpectedVersion;

  constructor(streamId: string, expectedVersion: string | number, actualVersion: number) {
    super(
      `Stream '${streamId}' is at version ${actualVersion}, not at the expected ${expectedVersion}: read the stream again and retry with its current version`,
      { streamId, expectedVersion, actualVersion },
    );
  }
}
