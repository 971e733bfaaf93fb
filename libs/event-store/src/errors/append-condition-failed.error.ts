import { EventStoreErrorCode } from './event-store-error-code.js';
import { EventStoreError } from './event-store.error.js';

/**
 * An append's condition matched events stored after its `after` cursor, so nothing was written.
 * `details.conflictingPositions` lists their global positions (the first 100, in `$all` order):
 * read them, decide again, and retry with a newer `after`.
 */
export class AppendConditionFailedError extends EventStoreError {
  readonly code = EventStoreErrorCode.AppendConditionFailed;

  constructor(conflictingPositions: number[], after: number) {
    super(
      `The append condition matched ${conflictingPositions.length === 100 ? '100 or more events' : `${conflictingPositions.length} event(s)`} after position ${after} (first at ${conflictingPositions[0]}): read them, decide again and retry with a newer 'after'`,
      { conflictingPositions, after },
    );
  }
}
