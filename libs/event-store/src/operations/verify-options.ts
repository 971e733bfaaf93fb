import type { LongOperationOptions } from './progress.js';

/** Options of `EventStore.verify`. */
export interface VerifyOptions extends LongOperationOptions {
  /** Events checked per statement (1 to 100,000). Default 1,000. */
  batchSize?: number;
  /** Checks the events after this position only: the `lastPosition` of an interrupted run, to resume it. Default `0`, every event. */
  fromPosition?: number;
}

/** An event whose stored checksum no longer matches its row: changed outside the store. */
export interface CorruptedEventReference {
  globalPosition: number;
  streamId: string;
  streamVersion: number;
  eventId: string;
}

/** What `EventStore.verify` found. */
export interface VerifyResult {
  /** Events checked. */
  checked: number;
  /** The events that failed their check, by position. */
  corrupted: CorruptedEventReference[];
  /** The position of the last event checked (pass it as `fromPosition` to continue), or `null` if none was. */
  lastPosition: number | null;
  /** Whether the signal stopped it at a batch boundary before the end. */
  interrupted: boolean;
}
