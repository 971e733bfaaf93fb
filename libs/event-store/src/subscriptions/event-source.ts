import type { RecordedEvent } from '../types/event-data.js';
import type { WakeFilter } from './wake-hints.js';

/** What a subscription reads from: `$all` or one stream, seen through a cursor. */
export interface EventSource {
  /** `$all` or the stream id. */
  readonly streamId: string;
  /**
   * Events after `cursor` (a global position for `$all`, a version for a stream), at most `limit`,
   * and the cursor to continue from (past events a filter skipped, too).
   */
  read(cursor: number, limit: number): Promise<{ events: RecordedEvent[]; next: number }>;
  /** The cursor of the current end: events after it are new. */
  end(): Promise<number>;
  /** Which wake-ups concern it (what they say was written could be among its events). */
  readonly concerns: WakeFilter;
  /** The cursor to store after handling `event`. */
  cursorOf(event: RecordedEvent): number;
}
