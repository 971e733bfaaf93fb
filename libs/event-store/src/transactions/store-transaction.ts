import type { AppendOptions, AppendResult, MultiStreamAppendResult, StreamAppend } from '../types/append-result.js';
import type { EventData } from '../types/event-data.js';
import type { ExpectedVersion } from '../types/expected-version.js';

/** The rows of a query run in a {@link StoreTransaction}. */
export interface StoreQueryResult<R> {
  rows: R[];
  /** Rows the statement changed or returned. */
  rowCount: number;
}

/**
 * One PostgreSQL transaction of the store (READ COMMITTED), given to `store.transaction` callbacks
 * and to projection handlers: the caller's own SQL and the store's appends commit or roll back
 * together. It is valid only while the callback runs.
 *
 * @example
 * await store.transaction(async (tx) => {
 *   await tx.appendToStream('game-42', 3, [{ eventType: 'GameWon', data: { by: 'p1' } }]);
 *   await tx.query('INSERT INTO outbox (topic, body) VALUES ($1, $2)', ['game-won', '{"game":42}']);
 * });
 */
export interface StoreTransaction {
  /**
   * Runs SQL on the transaction's connection, with `$1`-style parameters. Table names without a
   * schema resolve in the store's schema first, then along the connection's usual search path
   * (`"$user", public` by default): a projection's `leaderboard_scores` is the store's own.
   */
  query<R extends Record<string, unknown> = Record<string, unknown>>(text: string, values?: unknown[]): Promise<StoreQueryResult<R>>;
  /** As `EventStore.appendToStream`, inside this transaction. */
  appendToStream(
    streamId: string,
    expectedVersion: ExpectedVersion,
    events: ReadonlyArray<EventData | object>,
    options?: AppendOptions,
  ): Promise<AppendResult>;
  /** As `EventStore.appendToStreams`, inside this transaction. */
  appendToStreams(streams: ReadonlyArray<StreamAppend>, options?: AppendOptions): Promise<MultiStreamAppendResult>;
}
