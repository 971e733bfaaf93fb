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
