import type { LongOperationOptions } from './progress.js';

/** Options of `EventStore.exportEvents`. */
export interface ExportOptions extends LongOperationOptions {
  /** The `$all` cursor to export after: the position of the last event already exported. Default `0`, the start. */
  fromPosition?: number;
  /** Only events of streams whose id starts with this. */
  streamPrefix?: string;
  /** Only events of these types. */
  eventTypes?: string[];
}

/** What an export wrote. */
export interface ExportResult {
  /** Events written. */
  exported: number;
  /** The position of the last event written (the cursor to resume after), or `null` if none was. */
  lastPosition: number | null;
  /** Whether the signal stopped it; the output then ends with a whole line. */
  interrupted: boolean;
}
