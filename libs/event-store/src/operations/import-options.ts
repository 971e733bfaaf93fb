import type { LongOperationOptions } from './progress.js';

/** Options of `EventStore.importEvents`. */
export interface ImportOptions extends LongOperationOptions {
  /** Lines stored per transaction. Default `1000`, at most `10000`. */
  batchSize?: number;
}

/** What an import did. */
export interface ImportResult {
  /** Lines read (blank lines not counted). */
  read: number;
  /** Events stored. */
  imported: number;
  /** Events that were stored already at the same place with the same checksum: a re-run or a resumed run. */
  skipped: number;
  /** Whether the signal stopped it; every batch before stays stored, and running it again resumes. */
  interrupted: boolean;
}
