/** Most events one look names the streams of; past it, the look wakes every subscriber. */
export const TOUCHED_SCAN_LIMIT = 10_000;

/**
 * $1 `xmin` of the previous look (NULL on the first), $2 newest position of the previous look: what
 * a look for new events finds. `xmin` and `newest` mark where this look stands; `touched` names the
 * streams and event types written since the previous one (up to {@link TOUCHED_SCAN_LIMIT} events,
 * `scanned` says how many were read): the events of transactions that ended since (they are below
 * the new `xmin`, the order `$all` readers follow), and those committed past the newest position
 * (which stream readers see at once). NULL on the first look.
 */
export const touchedSinceSql = (s: string): string => `
  WITH snap AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin),
  written AS (
    SELECT e.stream_id, e.event_type FROM ${s}.events e, snap
     WHERE $1::xid8 IS NOT NULL
       AND ((e.transaction_id >= $1::xid8 AND e.transaction_id < snap.xmin) OR e.global_position > $2::bigint)
     LIMIT ${TOUCHED_SCAN_LIMIT})
  SELECT (SELECT xmin FROM snap)::text AS xmin,
         (SELECT max(global_position) FROM ${s}.events)::text AS newest,
         (SELECT count(*) FROM written)::int AS scanned,
         (SELECT json_agg(json_build_array(stream_id, event_type))
            FROM (SELECT DISTINCT stream_id, event_type FROM written) d) AS touched`;

/** A row of {@link touchedSinceSql}. */
export interface TouchedSinceRow {
  xmin: string;
  newest: string | null;
  scanned: number;
  touched: Array<[string, string]> | null;
}
