import { checksumSql } from '../../storage/sql/checksum.sql.js';
import { streamLockKeySql, tagLockSeed, TAG_SPACE_KEY } from '../../storage/sql/append-to-stream.sql.js';

/**
 * The lines of one import batch as rows: $1 is a JSON array of the lines' text, joined as they
 * were read, so `data` and `metadata` keep their bytes (a `json` value keeps its text); `n` is
 * the line's place in the batch.
 */
const batchRows = `
  ROWS FROM (json_to_recordset($1::json) AS (
    "eventId" uuid, "streamId" text, "streamVersion" bigint, "eventType" text, "schemaVersion" integer,
    data json, metadata json, "rawData" text, "rawMetadata" text, "causationId" uuid, "correlationId" uuid,
    tags text[], "createdAt" timestamptz, checksum text))
  WITH ORDINALITY AS x(event_id, stream_id, stream_version, event_type, schema_version, data, metadata,
    raw_data, raw_metadata, causation_id, correlation_id, tags, created_at, checksum, n)`;

/** The batch with the stored text of `data`/`metadata` chosen (`rawData` when the line has it). */
const inputCte = (s: string): string => `
  input AS (
    SELECT x.n, x.event_id, x.stream_id, x.stream_version, x.event_type, x.schema_version,
           coalesce(x.raw_data::json, x.data) AS data, coalesce(x.raw_metadata::json, x.metadata) AS metadata,
           x.causation_id, x.correlation_id, x.tags, x.created_at, decode(x.checksum, 'hex') AS checksum
      FROM ${batchRows}),
  checked AS (
    SELECT i.*, i.checksum = ${checksumSql({
      streamId: 'i.stream_id',
      streamVersion: 'i.stream_version',
      eventId: 'i.event_id',
      eventType: 'i.event_type',
      schemaVersion: 'i.schema_version',
      data: 'i.data',
      metadata: 'i.metadata',
      causationId: 'i.causation_id',
      correlationId: 'i.correlation_id',
      tags: 'i.tags',
    })} AS intact, e.stream_id AS stored_stream, e.stream_version AS stored_version, e.checksum AS stored_checksum
      FROM input i LEFT JOIN ${s}.events e ON e.event_id = i.event_id)`;

/**
 * The locks an append of the batch's events would take, in the order appends take them: the
 * stream locks (in key order, before anything gives the transaction its id), then the tag locks
 * named by `tagLockNames` ($2 names, $3 exclusive), each key once in its strongest mode, in key
 * order. $1 the batch's stream ids.
 */
export const importLocksSql = (s: string): string => `
  SELECT count(pg_advisory_xact_lock(l.key)) FROM (
    SELECT DISTINCT ${streamLockKeySql(s, 'x.stream_id')} AS key FROM unnest($1::text[]) AS x(stream_id) ORDER BY 1) AS l
  UNION ALL
  SELECT count(CASE WHEN l.exclusive THEN pg_advisory_xact_lock(${tagLockSeed(s)}, l.key)
                    ELSE pg_advisory_xact_lock_shared(${tagLockSeed(s)}, l.key) END)
    FROM (SELECT coalesce(hashtext(u.name), ${TAG_SPACE_KEY}) AS key, bool_or(u.exclusive) AS exclusive
            FROM unnest($2::text[], $3::boolean[]) AS u(name, exclusive) GROUP BY 1 ORDER BY 1) AS l`;

/**
 * Why a line of the batch cannot be imported, one row per such line (none: all can), with the
 * streams of the batch locked. A line is `present` when its event is stored already at the same
 * place with the same checksum (a re-run: skipped, not an error). Otherwise, in this order:
 * `checksum` (the checksum is not that of the line's fields), `duplicate` (its id is stored
 * elsewhere), `deleted` (its stream is soft-deleted here), `version` (its version is not above the
 * stream's, here or on the batch's line before it: taken by another event). Versions may skip:
 * a scavenged stream starts above 1, and links (not exported) took versions between events.
 */
export const importProblemsSql = (s: string): string => `
  WITH ${inputCte(s)},
  streams AS (
    SELECT st.stream_id, st.version, st.deleted_at FROM ${s}.streams st
     WHERE st.stream_id IN (SELECT stream_id FROM input) FOR UPDATE),
  judged AS (
    SELECT c.n, c.stream_id, c.stream_version, st.version AS stream_at, st.deleted_at IS NOT NULL AS deleted,
           c.stored_stream IS NOT NULL AND c.stored_stream = c.stream_id AND c.stored_version = c.stream_version
             AND c.stored_checksum = c.checksum AS present,
           c.intact, c.stored_stream
      FROM checked c LEFT JOIN streams st ON st.stream_id = c.stream_id),
  fresh AS (
    SELECT j.*, coalesce(lag(j.stream_version) OVER (PARTITION BY j.stream_id ORDER BY j.n), j.stream_at, 0) AS previous
      FROM judged j WHERE NOT j.present)
  SELECT j.n, 'present' AS problem, j.stream_at AS previous FROM judged j WHERE j.present AND j.intact
  UNION ALL
  SELECT f.n, CASE WHEN NOT f.intact THEN 'checksum' WHEN f.stored_stream IS NOT NULL THEN 'duplicate'
                   WHEN f.deleted THEN 'deleted' ELSE 'version' END, f.previous
    FROM fresh f
   WHERE NOT f.intact OR f.stored_stream IS NOT NULL OR f.deleted OR f.stream_version <= f.previous
  UNION ALL
  SELECT j.n, 'checksum', j.stream_at FROM judged j WHERE j.present AND NOT j.intact
  ORDER BY 1`;

/**
 * Stores the batch's lines but those at places $2 (present already), in their order: each gets
 * the next position of this store, so `$all` order is the lines' order; streams are created or
 * moved to their new version, and tags indexed. Only after {@link importProblemsSql} found nothing
 * else wrong, in the same transaction.
 */
export const importEventsSql = (s: string): string => `
  WITH ${inputCte(s)},
  fresh AS (SELECT * FROM input WHERE NOT (n = ANY($2::bigint[]))),
  streams AS (
    INSERT INTO ${s}.streams (stream_id, version, created_at, updated_at)
    SELECT stream_id, max(stream_version), min(created_at), max(created_at) FROM fresh GROUP BY stream_id
    ON CONFLICT (stream_id) DO UPDATE
      SET version = EXCLUDED.version, updated_at = greatest(${s}.streams.updated_at, EXCLUDED.updated_at)),
  inserted AS (
    INSERT INTO ${s}.events (stream_id, stream_version, event_id, event_type, schema_version, data, metadata,
                             causation_id, correlation_id, created_at, checksum, tags)
    SELECT stream_id, stream_version, event_id, event_type, schema_version, data, metadata,
           causation_id, correlation_id, created_at, checksum, tags
      FROM fresh ORDER BY n
    RETURNING transaction_id, global_position, event_type, tags)
  INSERT INTO ${s}.event_tags (tag, transaction_id, global_position, event_type)
  SELECT tag, i.transaction_id, i.global_position, i.event_type FROM inserted i, unnest(i.tags) AS tag`;
