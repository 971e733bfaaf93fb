/** Columns of a stream as reads return them. */
const streamColumns = `stream_id, version, created_at, updated_at, deleted_at IS NOT NULL AS deleted, metadata::text AS metadata`;

/** A stream row as read. */
export interface StreamRow {
  stream_id: string;
  version: string;
  created_at: Date;
  updated_at: Date;
  deleted: boolean;
  metadata: string;
}

/** $1 stream id. */
export const streamInfoSql = (s: string): string => `SELECT ${streamColumns} FROM ${s}.streams WHERE stream_id = $1`;

/** $1 stream id; locks the row for a delete or metadata change. */
export const lockStreamSql = (s: string): string => `SELECT ${streamColumns} FROM ${s}.streams WHERE stream_id = $1 FOR UPDATE`;

/** $1 LIKE pattern or NULL, $2 last id of the previous page or NULL, $3 page size. */
export const listStreamsSql = (s: string): string => `
  SELECT ${streamColumns} FROM ${s}.streams
   WHERE ($1::text IS NULL OR stream_id LIKE $1::text)
     AND ($2::text IS NULL OR stream_id > $2::text)
     AND version > 0
   ORDER BY stream_id LIMIT $3`;

/** $1 stream id. */
export const softDeleteStreamSql = (s: string): string =>
  `UPDATE ${s}.streams SET deleted_at = now(), updated_at = now() WHERE stream_id = $1`;

/**
 * $1 stream id. Removes the events, keeping where each stood in $all so that a cursor at one of
 * them stays valid; the immutability trigger lets this through only with `event_store.hard_delete`
 * set for the transaction.
 */
export const hardDeleteEventsSql = (s: string): string => `
  WITH removed AS (DELETE FROM ${s}.events WHERE stream_id = $1 RETURNING global_position, transaction_id)
  INSERT INTO ${s}.hard_deleted_positions (global_position, transaction_id)
  SELECT global_position, transaction_id FROM removed`;

/** $1 stream id. */
export const deleteStreamRowSql = (s: string): string => `DELETE FROM ${s}.streams WHERE stream_id = $1`;

/** $1 stream id, $2 metadata JSON. */
export const setStreamMetadataSql = (s: string): string =>
  `UPDATE ${s}.streams SET metadata = $2::jsonb, updated_at = now() WHERE stream_id = $1`;
