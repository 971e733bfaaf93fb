import { EventStoreErrorCode } from './event-store-error-code.js';
import { EventStoreError } from './event-store.error.js';

/** A stored event fails its integrity check on read: it was changed outside the store. */
export class CorruptedEventError extends EventStoreError {
  readonly code = EventStoreErrorCode.CorruptedEvent;

  constructor(event: { globalPosition: number; streamId: string; streamVersion: number; eventId: string }, reason: string) {
    super(
      `Event ${event.eventId} (stream '${event.streamId}' version ${event.streamVersion}, position ${event.globalPosition}) is corrupted: ${reason}`,
      { ...event, reason },
    );
  }
}
