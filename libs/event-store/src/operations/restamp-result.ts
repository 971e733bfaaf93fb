import type { LongOperationOptions } from './progress.js';

/** Options of `EventStore.restamp`. */
export interface RestampOptions extends LongOperationOptions {
  /** Rows per statement of the walk and of the rewrite (1 to 100,000). Default 10,000. */
  batchSize?: number;
  /**
   * How long restamp waits for writers in flight to let go of the store's tables, and for older
   * transactions of the cluster to end, before it refuses with `TIMEOUT` (milliseconds). Default 5,000.
   */
  lockTimeoutMs?: number;
}

/** Rows whose transaction id a restamp changed, by table. */
export interface RestampedRows {
  events: number;
  hardDeletedPositions: number;
  eventTags: number;
  streamLinks: number;
}

/** What `EventStore.restamp` did. */
export interface RestampResult {
  /** Rows walked in `$all` order: the events and the hard-deleted positions. */
  rows: number;
  /**
   * Stretches of `$all` in which positions increase: the walked rows now carry the transaction ids
   * 3 to `groups + 2`, one per group, in `$all` order (0 for an empty store).
   */
  groups: number;
  /** Rows whose transaction id changed; all zero when the store was restamped already. */
  restamped: RestampedRows;
  /** Transaction ids the cluster consumed first, so that its next ids lie above the new ones (0 when they did already). */
  transactionIdsAdvanced: number;
  /**
   * Whether the signal stopped it. The rewrite is one transaction: stopped, it changed nothing.
   * Transaction ids consumed before stay consumed (harmless: a run again needs fewer).
   */
  interrupted: boolean;
}
