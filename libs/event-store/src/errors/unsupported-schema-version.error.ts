import { EventStoreErrorCode } from './event-store-error-code.js';
import { EventStoreError } from './event-store.error.js';

/** The event's schema version is unknown, or newer than the latest version this code knows. */
export class UnsupportedSchemaVersionError extends EventStoreError {
  readonly code = EventStoreErrorCode.UnsupportedSchemaVersion;

  constructor(eventType: string, schemaVersion: number, latestVersion?: number) {
    super(
      `Schema version ${schemaVersion} of event type '${eventType}' is not supported${latestVersion === undefined ? '' : ` (latest known: ${latestVersion})`}: deploy the code that knows it`,
      { eventType, schemaVersion, latestVersion },
    );
  }
}
