import { EventStoreErrorCode } from './event-store-error-code.js';
import { EventStoreError } from './event-store.error.js';

/** The event's schema version is unknown, or newer than the latest version this code knows. */
export class UnsupportedSchemaVersionError extends EventStoreError {
  readonly code = EventStoreErrorCode.UnsupportedSchemaVersion;

  constructor(eventType: string, schemaVersion: number, latestVersion?: number, eventId?: string) {
    super(
      `Schema version ${schemaVersion} of event type '${eventType}'${eventId ? ` (event ${eventId})` : ''} is not supported${
        latestVersion === undefined ? '' : ` (this code knows up to version ${latestVersion})`
      }: deploy the code that knows it, or register an upcaster`,
      { eventType, schemaVersion, latestVersion, eventId },
    );
  }
}
