/** Most events (and most links) one look names the streams of; past it, the look wakes every subscriber. */
export const TOUCHED_SCAN_LIMIT = 10_000;

/**
 * $1 `xmin` of the previous look (NULL on the first), $2 its newest position, $3 its snapshot: what a
 * look for new events finds. `xmin`, `newest` and `snapshot` mark where this look stands; `touched`
 * names the streams and event types written since the previous one (up to
 * {@link TOUCHED_SCAN_LIMIT} events, `scanned` says how many were read):
 * - the events that `$all` readers see now and did not then (transactions below the new `xmin`
 *   and not below the old one);
 * - the events committed past the newest position (stream readers see them at once);
 * - the events of transactions in progress at the previous look that have committed since: a
 *   position is taken at insert, not at commit, so such an event may lie below the newest position
 *   the previous look saw, and a stream reader sees it as soon as it commits;
 * - the links (`stream_links`, as event type `$link`) that stream readers see now and did not
 *   then: a link writes no event, so only its transaction id tells. Its transaction had not begun
 *   at the previous look (an id at or past that snapshot's xmax) or was in progress then.
 * NULL on the first look.
 */
export const touchedSinceSql = (s: string): string => `
  WITH snap AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin),
  written AS (
    SELECT e.stream_id, e.event_type FROM ${s}.events e, snap
     WHERE $1::xid8 IS NOT NULL
       AND ((e.transaction_id >= $1::xid8 AND e.transaction_id < snap.xmin)
            OR e.global_position > $2::bigint
            OR (e.transaction_id = ANY (SELECT pg_snapshot_xip($3::pg_snapshot))
                AND pg_visible_in_snapshot(e.transaction_id, pg_current_snapshot())))
     LIMIT ${TOUCHED_SCAN_LIMIT}),
  linked AS (
    SELECT l.stream_id, '$link'::text AS event_type FROM ${s}.stream_links l
     WHERE $1::xid8 IS NOT NULL
       AND (l.transaction_id >= pg_snapshot_xmax($3::pg_snapshot)
            OR l.transaction_id = ANY (SELECT pg_snapshot_xip($3::pg_snapshot)))
       AND pg_visible_in_snapshot(l.transaction_id, pg_current_snapshot())
     LIMIT ${TOUCHED_SCAN_LIMIT}),
  touched AS (SELECT * FROM written UNION ALL SELECT * FROM linked)
  SELECT (SELECT xmin FROM snap)::text AS xmin,
         pg_current_snapshot()::text AS snapshot,
         (SELECT max(global_position) FROM ${s}.events)::text AS newest,
         (SELECT count(*) FROM touched)::int AS scanned,
         (SELECT json_agg(json_build_array(stream_id, event_type))
            FROM (SELECT DISTINCT stream_id, event_type FROM touched) d) AS touched`;

/** A row of {@link touchedSinceSql}. */
export interface TouchedSinceRow {
  xmin: string;
  snapshot: string;
  newest: string | null;
  scanned: number;
  touched: Array<[string, string]> | null;
}
