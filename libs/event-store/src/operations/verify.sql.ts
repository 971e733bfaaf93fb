import { storedChecksumSql } from '../storage/sql/checksum.sql.js';

/**
 * One batch of `verify`: the events after position $1, at most $2 of them, by position (the
 * primary key, so each batch is a range scan from where the previous one stopped, whatever the
 * store's size), each stored checksum compared with the one its row has now (`storedChecksumSql`,
 * the expression every read checks). One row: how many were checked, the last position, and the
 * events that failed.
 */
export const verifyBatchSql = (s: string): string => `
  WITH batch AS MATERIALIZED (
    SELECT e.global_position, e.stream_id, e.stream_version, e.event_id,
           e.checksum = ${storedChecksumSql('e')} AS intact
      FROM ${s}.events e
     WHERE e.global_position > $1::bigint
     ORDER BY e.global_position
     LIMIT $2)
  SELECT count(*)::int AS checked,
         max(b.global_position)::text AS last_position,
         coalesce(json_agg(json_build_object(
           'globalPosition', b.global_position, 'streamId', b.stream_id,
           'streamVersion', b.stream_version, 'eventId', b.event_id) ORDER BY b.global_position)
           FILTER (WHERE b.intact IS NOT TRUE), '[]') AS corrupted
    FROM batch b`;

/** A row of {@link verifyBatchSql}. */
export interface VerifyBatchRow {
  checked: number;
  last_position: string | null;
  corrupted: Array<{ globalPosition: number; streamId: string; streamVersion: number; eventId: string }>;
}

/** $1 the position verify starts after: the events it will check, for its progress. */
export const verifyTotalSql = (s: string): string => `SELECT count(*)::text AS total FROM ${s}.events WHERE global_position > $1::bigint`;
