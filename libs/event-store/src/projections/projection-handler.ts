import type { StoreTransaction } from '../transactions/store-transaction.js';
import type { RecordedEvent } from '../types/event-data.js';

/**
 * The read-model tables of a projection: logical name → table name (`scores` →
 * `leaderboard_scores`, a table of the store's schema, which the store puts first on the search
 * path of the projection's transactions; or `game.leaderboard_scores` in a schema of the app's).
 * Names are lower-case SQL identifiers (letters, digits, `_`), the table part at most 50
 * characters: a rebuild builds its tables beside them as `<table>__r<generation>` before renaming
 * them into place.
 */
export type ProjectionTables = Record<string, string>;

/**
 * A projection: writes a read model in PostgreSQL from the events of `$all`, in the same
 * transaction as its checkpoint, so that each event takes effect in the read model exactly once
 * across crashes, restarts and failover. Decorate the provider with `@Projection(name)`.
 *
 * `handle` gets the names to write to as `tables`: the real names while running, a rebuild's fresh
 * ones while rebuilding. Write only through `tx`, and only to those tables: work done elsewhere
 * (an HTTP call, another pool) is not rolled back with the batch and may be repeated.
 *
 * @example
 * @Projection('leaderboard', { filter: { eventTypes: ['GuessProcessed'] } })
 * @Injectable()
 * export class LeaderboardProjection implements ProjectionHandler {
 *   readonly tables = { scores: 'leaderboard_scores' };
 *
 *   async createTables(tx: StoreTransaction, tables: ProjectionTables): Promise<void> {
 *     await tx.query(`CREATE TABLE ${tables.scores} (player text PRIMARY KEY, points integer NOT NULL)`);
 *   }
 *
 *   async handle(event: RecordedEvent, tx: StoreTransaction, tables: ProjectionTables): Promise<void> {
 *     const { player, score } = event.data as { player: string; score: number };
 *     await tx.query(
 *       `INSERT INTO ${tables.scores} (player, points) VALUES ($1, $2)
 *        ON CONFLICT (player) DO UPDATE SET points = ${tables.scores}.points + EXCLUDED.points`,
 *       [player, score],
 *     );
 *   }
 * }
 */
export interface ProjectionHandler {
  /** Logical name → table name of every table of the read model. */
  readonly tables: ProjectionTables;
  /**
   * Creates the tables named in `tables` (and their indexes): once, when the projection first
   * starts, and for each rebuild under fresh names. Let PostgreSQL name indexes
   * (`CREATE INDEX ON ${tables.scores} (points)`): a fixed index name would collide with the live
   * table's during a rebuild.
   */
  createTables(tx: StoreTransaction, tables: ProjectionTables): Promise<void>;
  /** Applies one event to the read model, in `tx` (the batch's transaction). */
  handle(event: RecordedEvent, tx: StoreTransaction, tables: ProjectionTables): Promise<void>;
}
