import { removeEventsSql } from './streams.sql.js';

/*
 * Retention (docs/retention.md): the metadata keys `$truncateBefore`, `$maxCount` and `$maxAge` of
 * a stream row bound what reads of the stream return, at once, and the scavenger deletes what they
 * hide. Both use the bounds below, so that "expired" means the same thing to both.
 */

/**
 * A retention key of `st.metadata` as a number, or NULL. Values are checked when metadata is set,
 * but a stream may carry one written before: anything other than a JSON number reads as absent,
 * so that no stored metadata can make a read fail.
 */
const retentionKey = (key: string): string =>
  `CASE WHEN jsonb_typeof(st.metadata->'${key}') = 'number' THEN (st.metadata->>'${key}')::numeric END`;

/**
 * The bounds of stream row `st`, for a `CROSS JOIN LATERAL (...) r`:
 * - `r.retained_from`, the first version reads return: versions below `$truncateBefore` and all but
 *   the last `$maxCount` versions are hidden (1 without either; at most `version + 1`, so it
 *   stays a bigint whatever the metadata holds);
 * - `r.retained_since`, with `$maxAge`: events created (links made) before it are hidden, by the
 *   database's clock; NULL without. Past 1e11 s (3,000 years) it is clamped to stay a timestamp.
 *
 * `OFFSET 0` keeps it a subquery computed once per stream row: inlined, the planner would repeat
 * the JSON look-ups in the filter of every event row scanned.
 */
export const retentionBoundsSql = `
  SELECT least(greatest(1, truncate_before, st.version - max_count + 1), st.version + 1)::bigint AS retained_from,
         CASE WHEN max_age IS NOT NULL THEN now() - make_interval(secs => least(greatest(max_age, 0), 1e11)::float8) END
           AS retained_since
    FROM (SELECT ${retentionKey('$truncateBefore')} AS truncate_before, ${retentionKey('$maxCount')} AS max_count,
                 ${retentionKey('$maxAge')} AS max_age) keys
  OFFSET 0`;

/** The metadata keys of retention, as a PostgreSQL array for `?|`. */
const RETENTION_KEYS = `ARRAY['$maxAge', '$maxCount', '$truncateBefore']`;

/**
 * `alias` (an `events` or `stream_links` row of stream `st`, bounds `r`) is hidden by retention
 * and the scavenger may delete it: never the stream's last version, which stays stored (hidden or
 * not) so that the stream keeps an event at its version, as KurrentDB's scavenge keeps a stream's
 * last event. The first line is the range of the `(stream_id, stream_version)` index to read:
 * without `$maxAge` exactly the expired versions, so a stream whose expired events are gone costs
 * one index probe; with it, every version but the last, since creation times need not follow
 * versions (an `OR` alone would make every stream a scan of all its versions).
 */
const expired = (alias: string, createdAt: string): string => `
  ${alias}.stream_version < CASE WHEN r.retained_since IS NULL THEN least(r.retained_from, st.version) ELSE st.version END
  AND (${alias}.stream_version < r.retained_from OR ${alias}.${createdAt} < r.retained_since)`;

/**
 * $1 LIKE pattern of stream ids or NULL, $2 last id of the previous page or NULL, $3 page size:
 * streams with a retention key, whether each has an expired event or link now (`expired`), and
 * whether it has a snapshot (which may be below its first retained version), read without locks
 * so that streams with nothing to do cost no transaction of their own.
 */
export const retentionStreamsSql = (s: string): string => `
  SELECT st.stream_id,
         EXISTS (SELECT 1 FROM ${s}.events e WHERE e.stream_id = st.stream_id AND ${expired('e', 'created_at')})
         OR EXISTS (SELECT 1 FROM ${s}.stream_links l WHERE l.stream_id = st.stream_id AND ${expired('l', 'linked_at')}) AS expired,
         EXISTS (SELECT 1 FROM ${s}.snapshots sn WHERE sn.source_id = st.stream_id) AS snapshot
    FROM ${s}.streams st
    CROSS JOIN LATERAL (${retentionBoundsSql}) r
   WHERE st.metadata ?| ${RETENTION_KEYS}
     AND ($1::text IS NULL OR st.stream_id LIKE $1::text)
     AND ($2::text IS NULL OR st.stream_id > $2::text)
   ORDER BY st.stream_id LIMIT $3`;

/**
 * $1 stream id. Holds the stream row (shared) for one batch: a metadata change or an append to
 * the stream waits for the batch to commit, so the batch deletes exactly what the metadata and
 * version it reads hide, never what a concurrent change has just made visible again. No row: the
 * stream was hard-deleted meanwhile.
 */
export const holdStreamSql = (s: string): string => `SELECT version FROM ${s}.streams WHERE stream_id = $1 FOR SHARE`;

/**
 * $1 stream id, $2 batch size: locks the next expired events of the stream, in version order.
 * A link being made to one of them holds it (`FOR KEY SHARE`) until it commits: such an event is
 * skipped (`SKIP LOCKED`) and left to a later run, so the scavenger never waits on one, and the
 * delete that follows, in a statement of its own, sees every link to the events it does remove.
 * Concurrent scavengers skip each other's batches the same way.
 */
export const lockExpiredEventsSql = (s: string): string => `
  SELECT e.global_position
    FROM ${s}.streams st
    CROSS JOIN LATERAL (${retentionBoundsSql}) r
    JOIN ${s}.events e ON e.stream_id = st.stream_id
   WHERE st.stream_id = $1 AND ${expired('e', 'created_at')}
   ORDER BY e.stream_version LIMIT $2
   FOR UPDATE OF e SKIP LOCKED`;

/**
 * $1 positions of events locked by {@link lockExpiredEventsSql}: the hard delete's removal (their
 * places in `$all` kept for cursors, their tags and the links to them gone); one row, `removed`.
 * An event another scavenger removed first is simply not there.
 */
export const removeExpiredEventsSql = (s: string): string => `
  ${removeEventsSql(s, 'global_position = ANY($1::bigint[])')}
  SELECT count(*)::int AS removed FROM removed`;

/**
 * $1 stream id, $2 batch size: deletes the next expired links of the stream (places in it that
 * point at another stream's events; the events stay). `$maxAge` counts from when a link was made.
 */
export const removeExpiredLinksSql = (s: string): string => `
  DELETE FROM ${s}.stream_links gone
   USING (SELECT l.stream_version
            FROM ${s}.streams st
            CROSS JOIN LATERAL (${retentionBoundsSql}) r
            JOIN ${s}.stream_links l ON l.stream_id = st.stream_id
           WHERE st.stream_id = $1 AND ${expired('l', 'linked_at')}
           ORDER BY l.stream_version LIMIT $2
           FOR UPDATE OF l SKIP LOCKED) batch
   WHERE gone.stream_id = $1 AND gone.stream_version = batch.stream_version`;

/**
 * $1 stream id: drops the stream's snapshot if it was taken below the first version reads return
 * (its own event is hidden, so an aggregate could not anchor it, and it holds state of events that
 * are gone). The first retained version is looked up on both sides of the stream, by index.
 */
export const dropTruncatedSnapshotSql = (s: string): string => `
  DELETE FROM ${s}.snapshots sn
   USING (SELECT least(
             (SELECT e.stream_version FROM ${s}.events e
               WHERE e.stream_id = st.stream_id AND e.stream_version >= r.retained_from
                 AND (r.retained_since IS NULL OR e.created_at >= r.retained_since)
               ORDER BY e.stream_version LIMIT 1),
             (SELECT l.stream_version FROM ${s}.stream_links l
               WHERE l.stream_id = st.stream_id AND l.stream_version >= r.retained_from
                 AND (r.retained_since IS NULL OR l.linked_at >= r.retained_since)
               ORDER BY l.stream_version LIMIT 1),
             st.version + 1) AS first_retained
            FROM ${s}.streams st
            CROSS JOIN LATERAL (${retentionBoundsSql}) r
           WHERE st.stream_id = $1) f
   WHERE sn.source_id = $1 AND sn.source_version < f.first_retained`;
