import type { LongOperationOptions } from '../operations/progress.js';

/** Options of {@link EventScavenger.scavenge} (`store.scavenge`). */
export interface ScavengeOptions extends LongOperationOptions {
  /**
   * Most events (and, apart, links) deleted per transaction: each batch holds its stream's row
   * for a few milliseconds, so appends to that stream wait at most one batch. 1 to 10,000;
   * default 500.
   */
  batchSize?: number;
  /** Only streams whose id starts with this (e.g. `'game-'`). Default: every stream. */
  streamPrefix?: string;
}
