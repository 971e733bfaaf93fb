import type { JsonObject, RecordedEvent } from './event-data.js';

/** Paging of a stream read. */
export interface ReadStreamOptions {
  /** First version to return (inclusive). Forward default `1`; backward default: the last event. */
  fromVersion?: number;
  /** Most events to return. Default: the store's `defaultPageSize` (1000). */
  maxCount?: number;
}

/** Which events of `$all` to return. */
export interface AllFilter {
  /** Only events of these types. */
  eventTypes?: string[];
  /** Only events of streams whose id starts with this (a category, e.g. `game-`). */
  streamPrefix?: string;
  /**
   * Only events carrying every one of these tags. Such a read is driven by the tag index: it costs
   * in proportion to the events carrying the first tag, not to `$all`.
   */
  tags?: string[];
  /**
   * Only events of the streams in one of `count` partitions (by a hash of the stream id that
   * PostgreSQL and Node compute alike: the first 32 bits of its MD5, modulo `count`): readers that
   * share `$all` by stream, each stream always in the same partition. `index` from 0.
   */
  partition?: { count: number; index: number };
}

/** Paging and filtering of an `$all` read. */
export interface ReadAllOptions {
  /**
   * The cursor: the global position of the last event seen; the read continues right after it in
   * `$all` order. Forward default `0` (the start); backward default: the end.
   */
  fromPosition?: number;
  /** Most events to return. Default: the store's `defaultPageSize` (1000). */
  maxCount?: number;
  filter?: AllFilter;
}

/** A page of `$all`; `T` as in {@link RecordedEvent}. */
export interface ReadAllResult<T extends object = JsonObject> {
  events: Array<RecordedEvent<T>>;
  /**
   * The cursor for the next page: the position of the last event returned (or the cursor given,
   * when none was). `null` when a backward read reached the start.
   */
  nextFromPosition: number | null;
}
