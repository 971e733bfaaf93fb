import { eventColumns, type EventRow } from './event-row.js';
import { retentionBoundsSql } from './retention.sql.js';

/**
 * A page of one stream: its own events and the events linked into it (`stream_links`), merged by
 * version. Each side is read from its own index up to the page size, so a stream without links
 * costs one more empty index probe. $2 first version, $3 page size; `order` ASC or DESC.
 * Retention (`r`, retention.sql.ts) raises the lower bound of the index range and, with
 * `$maxAge`, filters by age; a stream without retention keys reads the same range as before.
 */
function streamPage(s: string, order: 'ASC' | 'DESC', bound: string): string {
  const range = (v: string): string =>
    order === 'ASC' ? `${v} >= greatest($2, r.retained_from)` : `${v} <= ${bound} AND ${v} >= r.retained_from`;
  const young = (at: string): string => `(r.retained_since IS NULL OR ${at} >= r.retained_since)`;
  return `
      SELECT * FROM (
        (SELECT e.stream_version AS place, NULL::text AS link_stream_id, NULL::bigint AS link_version,
                NULL::timestamptz AS linked_at, ${eventColumns('e')}
           FROM ${s}.events e
          WHERE e.stream_id = st.stream_id AND ${range('e.stream_version')} AND ${young('e.created_at')}
          ORDER BY e.stream_version ${order} LIMIT $3)
        UNION ALL
        (SELECT l.stream_version, l.stream_id, l.stream_version, l.linked_at, ${eventColumns('e')}
           FROM ${s}.stream_links l JOIN ${s}.events e ON e.global_position = l.global_position
          WHERE l.stream_id = st.stream_id AND ${range('l.stream_version')} AND ${young('l.linked_at')}
          ORDER BY l.stream_version ${order} LIMIT $3)) AS both_sides
       ORDER BY place ${order} LIMIT $3`;
}

/**
 * One query reads the stream row and a page of its events, so a missing or deleted stream needs no
 * second round trip. Versions of one stream commit in order (appends queue on the stream row),
 * so no visibility filter is needed here. Events the stream's retention metadata hides are not
 * returned, from the moment the metadata is set (the scavenger deletes them later).
 *
 * $1 stream id, $2 first version (inclusive), $3 page size.
 */
export const readStreamForwardSql = (s: string): string => `
  SELECT st.version AS stream_version_now, st.deleted_at IS NOT NULL AS stream_deleted, page.*
    FROM ${s}.streams st
    CROSS JOIN LATERAL (${retentionBoundsSql}) r
    LEFT JOIN LATERAL (${streamPage(s, 'ASC', '')}) page ON true
   WHERE st.stream_id = $1
   ORDER BY page.place`;

/** $1 stream id, $2 first version (inclusive, NULL = the last event), $3 page size. */
export const readStreamBackwardSql = (s: string): string => `
  SELECT st.version AS stream_version_now, st.deleted_at IS NOT NULL AS stream_deleted, page.*
    FROM ${s}.streams st
    CROSS JOIN LATERAL (${retentionBoundsSql}) r
    LEFT JOIN LATERAL (${streamPage(s, 'DESC', 'coalesce($2::bigint, st.version)')}) page ON true
   WHERE st.stream_id = $1
   ORDER BY page.place DESC`;

/** A row of a stream read: the stream's state, and an event unless the page is empty. */
export type ReadStreamRow = { stream_version_now: string; stream_deleted: boolean } & (EventRow | { [K in keyof EventRow]: null });

/** $1 event id: one event, wherever it is; $2 a stream id or NULL: its link there, if any. */
export const readEventSql = (s: string): string => `
  SELECT l.stream_id AS link_stream_id, l.stream_version AS link_version, l.linked_at, ${eventColumns('e')}
    FROM ${s}.events e
    LEFT JOIN ${s}.stream_links l ON l.stream_id = $2::text AND l.global_position = e.global_position
   WHERE e.event_id = $1`;
