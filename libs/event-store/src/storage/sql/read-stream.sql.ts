import { eventColumns, type EventRow } from './event-row.js';

/**
 * One query reads the stream row and a page of its events, so a missing or deleted stream needs no
 * second round trip. Versions of one stream commit in order (appends queue on the stream row),
 * so no visibility filter is needed here.
 *
 * $1 stream id, $2 first version (inclusive), $3 page size.
 */
export const readStreamForwardSql = (s: string): string => `
  SELECT st.version AS stream_version_now, st.deleted_at IS NOT NULL AS stream_deleted, page.*
    FROM ${s}.streams st
    LEFT JOIN LATERAL (
      SELECT ${eventColumns('e')} FROM ${s}.events e
       WHERE e.stream_id = st.stream_id AND e.stream_version >= $2
       ORDER BY e.stream_version LIMIT $3) page ON true
   WHERE st.stream_id = $1
   ORDER BY page.stream_version`;

/** $1 stream id, $2 first version (inclusive, NULL = the last event), $3 page size. */
export const readStreamBackwardSql = (s: string): string => `
  SELECT st.version AS stream_version_now, st.deleted_at IS NOT NULL AS stream_deleted, page.*
    FROM ${s}.streams st
    LEFT JOIN LATERAL (
      SELECT ${eventColumns('e')} FROM ${s}.events e
       WHERE e.stream_id = st.stream_id AND e.stream_version <= coalesce($2::bigint, st.version)
       ORDER BY e.stream_version DESC LIMIT $3) page ON true
   WHERE st.stream_id = $1
   ORDER BY page.stream_version DESC`;

/** A row of a stream read: the stream's state, and an event unless the page is empty. */
export type ReadStreamRow = { stream_version_now: string; stream_deleted: boolean } & (EventRow | { [K in keyof EventRow]: null });

/** $1 event id: one event, wherever it is. */
export const readEventSql = (s: string): string => `SELECT ${eventColumns('e')} FROM ${s}.events e WHERE e.event_id = $1`;
