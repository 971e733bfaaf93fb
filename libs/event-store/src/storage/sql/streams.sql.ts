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
 * The transaction setting that lets the immutability trigger pass a delete of events: the hard
 * delete and the scavenger (retention) set it for their own transactions only.
 */
export const ALLOW_EVENT_REMOVAL = `SET LOCAL event_store.hard_delete = 'on'`;

/**
 * The removal of the events `where` selects, as the CTEs of a statement (`removed` lists them):
 * where each stood in $all is kept so that a cursor at one of them stays valid, and their tags and
 * the links to them from other streams go with them (those streams keep their versions, with
 * gaps). The immutability trigger lets it through only with {@link ALLOW_EVENT_REMOVAL}. Used by
 * the hard delete and by the scavenger (retention.sql.ts).
 */
export const removeEventsSql = (s: string, where: string): string => `
  WITH removed AS (DELETE FROM ${s}.events WHERE ${where} RETURNING global_position, transaction_id),
  kept AS (
    INSERT INTO ${s}.hard_deleted_positions (global_position, transaction_id)
    SELECT global_position, transaction_id FROM removed),
  untagged AS (DELETE FROM ${s}.event_tags t USING removed r WHERE t.global_position = r.global_position),
  unlinked AS (DELETE FROM ${s}.stream_links l USING removed r WHERE l.global_position = r.global_position)`;

/**
 * $1 stream id. Removes the stream's events ({@link removeEventsSql}) and its own links (the
 * linked events stay).
 */
export const hardDeleteEventsSql = (s: string): string => `
  ${removeEventsSql(s, 'stream_id = $1')}
  DELETE FROM ${s}.stream_links WHERE stream_id = $1`;

/**
 * $1 stream id: locks its events before a hard delete. A link being made to one of them holds it
 * (`FOR KEY SHARE`) until it commits, so this waits for it, and the delete that follows, in a
 * statement of its own, sees that link and removes it too; a link made after it finds no event.
 * Both lock in (stream, version) order, so neither waits for the other in a circle.
 */
export const lockStreamEventsSql = (s: string): string =>
  `SELECT count(*) FROM (SELECT 1 FROM ${s}.events WHERE stream_id = $1 ORDER BY stream_version FOR UPDATE) AS locked`;

/** $1 stream id. */
export const deleteStreamRowSql = (s: string): string => `DELETE FROM ${s}.streams WHERE stream_id = $1`;

/** $1 stream id, $2 metadata JSON. */
export const setStreamMetadataSql = (s: string): string =>
  `UPDATE ${s}.streams SET metadata = $2::jsonb, updated_at = now() WHERE stream_id = $1`;
