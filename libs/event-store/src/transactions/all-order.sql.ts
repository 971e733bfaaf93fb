import { streamLockKeySql } from '../storage/sql/append-to-stream.sql.js';

/**
 * The streams, of those a caller's transaction appended to, whose event just before the
 * transaction's first one there carries a larger transaction id than the transaction's own: in
 * `$all` (ordered by transaction id) that event would come after the transaction's, a later version
 * before an earlier one. Run before the commit, while the transaction holds those streams' locks,
 * so every earlier event of them is committed and visible. Checking the one event before is
 * enough: the events of a stream carry increasing transaction ids up to there (the rule this check
 * keeps). An append that stored nothing (a re-send: its first event is another transaction's) is
 * not checked. $1 stream ids, $2 the version of the transaction's first event in each.
 */
export const laterCommittedStreamsSql = (s: string): string => `
  SELECT x.stream_id FROM unnest($1::text[], $2::bigint[]) AS x(stream_id, from_version)
   WHERE EXISTS (SELECT 1 FROM ${s}.events o
                  WHERE o.stream_id = x.stream_id AND o.stream_version = x.from_version
                    AND o.transaction_id = pg_current_xact_id_if_assigned())
     AND (SELECT e.transaction_id FROM ${s}.events e
           WHERE e.stream_id = x.stream_id AND e.stream_version < x.from_version
           ORDER BY e.stream_version DESC LIMIT 1) > pg_current_xact_id_if_assigned()`;

/**
 * Takes the appends' advisory locks of streams $1 (text[]) at the start of a transaction, before it
 * has an id, in key order as `append_to_streams` does: the transaction's appends to them then come
 * after every event committed to them before, in `$all` too, whatever it writes first.
 */
export const lockStreamsSql = (s: string): string => `
  SELECT count(pg_advisory_xact_lock(l.key)) AS locked
    FROM (SELECT DISTINCT ${streamLockKeySql(s, 'x.stream_id')} AS key FROM unnest($1::text[]) AS x(stream_id) ORDER BY 1) AS l`;

/** A row of {@link laterCommittedStreamsSql}. */
export interface LaterCommittedRow {
  stream_id: string;
}
