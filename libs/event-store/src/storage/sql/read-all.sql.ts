import { eventColumns, type EventRow } from './event-row.js';

/*
 * $all is ordered by (transaction_id, global_position), and a reader sees only events of
 * transactions below its snapshot's xmin: every transaction that could still commit an event
 * there is newer than xmin, so what a reader sees is a prefix of the final order that can only
 * grow at its end. See docs/design.md.
 *
 * The cursor is an event's global position; its place in the order is its transaction id, found in
 * `events`, or in `hard_deleted_positions` once its stream was hard-deleted.
 *
 * $1 cursor position (0 = the start), $2 event types or NULL, $3 LIKE pattern of stream ids or
 * NULL, $4 page size. The first row always comes: `cursor_found` false means an unknown cursor.
 * Filtered reads add $5 (scan window), $6 and $7 (partition count and index, or NULL).
 */
const cursorCte = (s: string): string => `
  WITH cursor AS (
    SELECT transaction_id FROM ${s}.events WHERE global_position = $1
    UNION ALL SELECT transaction_id FROM ${s}.hard_deleted_positions WHERE global_position = $1
    UNION ALL SELECT '0'::xid8 WHERE $1 = 0
    LIMIT 1)`;

const filters = `
  AND e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())
  AND ($2::text[] IS NULL OR e.event_type = ANY($2::text[]))
  AND ($3::text IS NULL OR e.stream_id LIKE $3::text)`;

/** One page of $all in one direction; `after` restricts it to one side of the cursor, if any. */
function page(s: string, direction: 'ASC' | 'DESC', after: string): string {
  return `
    LEFT JOIN LATERAL (
      SELECT e.transaction_id AS tx, ${eventColumns('e')} FROM ${s}.events e
       WHERE ${after} ${filters}
       ORDER BY e.transaction_id ${direction}, e.global_position ${direction} LIMIT $4) page ON true
   ORDER BY page.tx ${direction}, page.global_position ${direction}`;
}

/** Events after the cursor, oldest first. */
export const readAllForwardSql = (s: string): string => `
  ${cursorCte(s)}
  SELECT c.transaction_id IS NOT NULL AS cursor_found, page.*
    FROM (SELECT 1) one
    LEFT JOIN cursor c ON true
    ${page(s, 'ASC', '(e.transaction_id, e.global_position) > (c.transaction_id, $1::bigint)')}`;

/** Events before the cursor, newest first. */
export const readAllBackwardSql = (s: string): string => `
  ${cursorCte(s)}
  SELECT c.transaction_id IS NOT NULL AS cursor_found, page.*
    FROM (SELECT 1) one
    LEFT JOIN cursor c ON true
    ${page(s, 'DESC', '(e.transaction_id, e.global_position) < (c.transaction_id, $1::bigint)')}`;

/** Events from the end of $all, newest first ($1 is unused but keeps the parameter list). */
export const readAllBackwardFromEndSql = (s: string): string => `
  SELECT true AS cursor_found, page.*
    FROM (SELECT 1) one
    ${page(s, 'DESC', '$1::bigint IS NULL')}`;

/** A row of an $all read. */
export type ReadAllRow = { cursor_found: boolean } & (EventRow | { [K in keyof EventRow]: null });

/**
 * A filtered page of $all that scans at most $5 events past the cursor, so that a sparse filter
 * costs bounded work per read instead of a scan to the end of $all on every poll. Besides the
 * matching events it reports how far it scanned (`scanned_to`, `scanned`): the reader continues
 * from there, which is a valid cursor even when that event did not match.
 */
export function readAllFilteredSql(s: string, direction: 'forward' | 'backward', fromEnd: boolean): string {
  const order = direction === 'forward' ? 'ASC' : 'DESC';
  const reverse = direction === 'forward' ? 'DESC' : 'ASC';
  const after = fromEnd
    ? 'true'
    : `(e.transaction_id, e.global_position) ${direction === 'forward' ? '>' : '<'} (c.transaction_id, $1::bigint)`;
  const cursor = fromEnd ? `WITH cursor AS (SELECT NULL::xid8 AS transaction_id WHERE $1::bigint IS NULL)` : cursorCte(s);
  // The window keeps whole rows: the heap is read for the filter anyway, and matched rows then
  // need no second lookup by position.
  return `
  ${cursor},
  scanned AS MATERIALIZED (
    SELECT e.* FROM cursor c
      JOIN LATERAL (
        SELECT e.* FROM ${s}.events e
         WHERE ${after} AND e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())
         ORDER BY e.transaction_id ${order}, e.global_position ${order} LIMIT $5) e ON true),
  matched AS (
    SELECT m.* FROM scanned m
     WHERE ($2::text[] IS NULL OR m.event_type = ANY($2::text[])) AND ($3::text IS NULL OR m.stream_id LIKE $3::text)
       AND ($6::int IS NULL OR ('x' || substr(md5(m.stream_id), 1, 8))::bit(32)::bigint % $6::int = $7::int)
     ORDER BY m.transaction_id ${order}, m.global_position ${order} LIMIT $4)
  SELECT EXISTS (SELECT 1 FROM cursor) AS cursor_found,
         (SELECT m.global_position FROM scanned m ORDER BY m.transaction_id ${reverse}, m.global_position ${reverse} LIMIT 1) AS scanned_to,
         (SELECT count(*) FROM scanned)::int AS scanned,
         page.*
    FROM (SELECT 1) one
    LEFT JOIN LATERAL (SELECT m.transaction_id AS tx, ${eventColumns('m')} FROM matched m) page ON true
   ORDER BY page.tx ${order}, page.global_position ${order}`;
}

/** A row of a filtered $all read: how far the scan went, and a matching event unless none matched. */
export type ReadAllFilteredRow = ReadAllRow & { scanned_to: string | null; scanned: number };

/**
 * A page of $all of the events carrying every tag of $5, read from `event_tags` by the first tag
 * ($5[1]), in $all order: it costs in proportion to the events that carry that tag, however far
 * apart they lie in $all. The other filters ($2, $3, $6/$7) apply to those events.
 */
export function readAllTaggedSql(s: string, direction: 'forward' | 'backward', fromEnd: boolean): string {
  const order = direction === 'forward' ? 'ASC' : 'DESC';
  const after = fromEnd
    ? 'true'
    : `(t.transaction_id, t.global_position) ${direction === 'forward' ? '>' : '<'} (c.transaction_id, $1::bigint)`;
  const cursor = fromEnd ? `WITH cursor AS (SELECT NULL::xid8 AS transaction_id WHERE $1::bigint IS NULL)` : cursorCte(s);
  return `
  ${cursor}
  SELECT EXISTS (SELECT 1 FROM cursor) AS cursor_found, page.*
    FROM (SELECT 1) one
    LEFT JOIN cursor c ON true
    LEFT JOIN LATERAL (
      SELECT t.transaction_id AS tx, ${eventColumns('e')}
        FROM ${s}.event_tags t JOIN ${s}.events e ON e.global_position = t.global_position
       WHERE t.tag = ($5::text[])[1] AND ${after} AND t.transaction_id < pg_snapshot_xmin(pg_current_snapshot())
         AND (cardinality($5::text[]) = 1 OR e.tags @> $5::text[])
         AND ($2::text[] IS NULL OR t.event_type = ANY($2::text[])) AND ($3::text IS NULL OR e.stream_id LIKE $3::text)
         AND ($6::int IS NULL OR ('x' || substr(md5(e.stream_id), 1, 8))::bit(32)::bigint % $6::int = $7::int)
       ORDER BY t.transaction_id ${order}, t.global_position ${order} LIMIT $4) page ON true
   ORDER BY page.tx ${order}, page.global_position ${order}`;
}
