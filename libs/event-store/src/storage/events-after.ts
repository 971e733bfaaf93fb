import type { AllFilter } from '../types/read-options.js';
import { likePrefix } from '../validation/stream-id.validation.js';
import type { EventStoreDatabase } from './event-store-database.js';
import { eventsAfterSql } from './sql/subscription-status.sql.js';

/**
 * Events of `filter` (its partition included) after the `$all` cursor `cursor` that readers see
 * now, counted up to `cap`: the lag of a subscription or a projection.
 */
export async function countEventsAfter(database: EventStoreDatabase, cursor: number, filter: AllFilter, cap: number): Promise<number> {
  const values = [
    cursor,
    filter.eventTypes ?? null,
    filter.streamPrefix === undefined ? null : likePrefix(filter.streamPrefix),
    filter.tags ?? null,
    filter.partition?.count ?? null,
    filter.partition?.index ?? null,
    cap,
  ];
  const rows = await database.executor.query<{ n: string }>(
    { text: eventsAfterSql(database.schema), values },
    { idempotent: true, readOnly: true },
  );
  return Number(rows[0]?.n ?? 0);
}
