import type { EventStoreErrorCode } from './event-store-error-code.js';

/** Extra, machine-readable facts about a failure (e.g. the actual stream version). */
export type EventStoreErrorDetails = Record<string, unknown>;

/**
 * The base class of every error the event store throws. Catch it to handle all store failures;
 * switch on `code` (stable) rather than on the class name or message.
 */
export abstract class EventStoreError extends Error {
  /** The stable error code, e.g. `WRONG_EXPECTED_VERSION`. */
  abstract readonly code: EventStoreErrorCode;
  /** The class name, e.g. `WrongExpectedVersionError`. */
  override readonly name: string;
  /** Machine-readable facts about the failure; `{}` when there are none. */
  readonly details: EventStoreErrorDetails;

  protected constructor(message: string, details: EventStoreErrorDetails = {}, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = new.target.name;
    this.details = details;
  }
}
