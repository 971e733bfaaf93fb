import type { EventData, JsonObject, RecordedEvent } from './event-data.js';
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
  /**
   * Write only if no event matching the condition is stored after its `after` cursor; otherwise
   * nothing is written and the append fails with `APPEND_CONDITION_FAILED`. Race-free: of
   * concurrent appends whose conditions match each other's events, exactly the right ones win.
   */
  condition?: AppendCondition;
}

/**
 * "Fail if events like these exist": the guard of an invariant that crosses streams.
 *
 * @example
 * // A word is claimed once per guild: fail if a claim of this word in this guild exists at all.
 * { failIfEventsMatch: [{ eventTypes: ['WordClaimed'], tags: ['guild:7', 'word:crane'] }] }
 */
export interface AppendCondition {
  /**
   * Alternatives: the condition fails if any item matches an event. Inside an item the event types
   * are alternatives and every tag must be on the event; an item needs event types or tags (an
   * item with neither would match every event, and is refused).
   */
  failIfEventsMatch: AppendConditionItem[];
  /**
   * A `$all` cursor (the position of the last event the writer read before deciding): only events
   * after it count. Default `0`, every event of the store.
   */
  after?: number;
}

/** One alternative of an {@link AppendCondition}. */
export interface AppendConditionItem {
  /** Any of these types (default: any type). */
  eventTypes?: string[];
  /** All of these tags (default: no tag required). */
  tags?: string[];
}

/** One stream of `appendToStreams`: its expected version and the events to append to it. */
export interface StreamAppend {
  streamId: string;
  expectedVersion: ExpectedVersion;
  /** The events; absent or empty: the entry only checks the stream's version. */
  events?: ReadonlyArray<EventData | object>;
}

/**
 * What `appendToStreams` did to one stream. For an entry without events, `toVersion` is the version
 * it checked, `fromVersion` is `toVersion + 1`, and the positions are `null`.
 */
export interface StreamAppendResult {
  streamId: string;
  fromVersion: number;
  toVersion: number;
  firstPosition: number | null;
  lastPosition: number | null;
}

/** What `appendToStreams` stored, one result per entry in the order given. */
export interface MultiStreamAppendResult {
  streams: StreamAppendResult[];
}

/** Options of `deleteStream`. */
export interface DeleteStreamOptions {
  /** `soft` (default) keeps the events in `$all`; `hard` removes the stream and its events. */
  mode?: 'soft' | 'hard';
}

/** The expected version accepted by writes, re-exported for signatures. */
export type { ExpectedVersion };
