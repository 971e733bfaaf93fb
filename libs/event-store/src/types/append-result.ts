import type { JsonObject, RecordedEvent } from './event-data.js';
import type { ExpectedVersion } from './expected-version.js';

/** What `appendToStream` stored. */
export interface AppendResult {
  streamId: string;
  /** Version of the first event appended. */
  fromVersion: number;
  /** Version of the last event appended: the stream's version right after this append. */
  toVersion: number;
  /** Global position of the first event appended. */
  firstPosition: number;
  /** Global position of the last event appended. */
  lastPosition: number;
}

/** Options of one append. */
export interface AppendOptions {
  /** Deadline of this append, retries included. Default: the store's `operationTimeoutMs`. */
  timeoutMs?: number;
  /** Metadata added to every event of the append; an event's own metadata keys win. Default `{}`. */
  metadata?: JsonObject;
  /**
   * The event that caused this append. Every event without ids of its own gets
   * `causationId = cause.eventId` and `correlationId = cause.correlationId ?? cause.eventId`, so a
   * whole chain of reactions shares the correlation id of the event that started it.
   */
  causedBy?: Pick<RecordedEvent, 'eventId' | 'correlationId'>;
}

/** Options of `deleteStream`. */
export interface DeleteStreamOptions {
  /** `soft` (default) keeps the events in `$all`; `hard` removes the stream and its events. */
  mode?: 'soft' | 'hard';
}

/** The expected version accepted by writes, re-exported for signatures. */
export type { ExpectedVersion };
