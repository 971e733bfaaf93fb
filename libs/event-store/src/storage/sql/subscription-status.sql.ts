/** A persistent subscription's row with its failed deliveries counted and its lease judged now. */
export interface SubscriptionStatusRow {
  name: string;
  stream_id: string | null;
  filter: Record<string, unknown>;
  checkpoint: string;
  owner: string | null;
  lease_until: Date | null;
  lease_valid: boolean;
  /** The version of the stream it reads (`NULL` for `$all`, or a stream not written yet). */
  stream_version: string | null;
  /** The position of the last event `$all` readers see now (`NULL` before any). */
  all_head: string | null;
  failed: number;
  dead: number;
  updated_at: Date;
}

/**
 * $1 name or NULL (all): the subscriptions, by name; with a name, that subscription or the
 * partitions of the group of that name (`name:0`, `name:1`, ...).
 */
export const subscriptionStatusesSql = (s: string): string => `
  SELECT sub.name, sub.stream_id, sub.filter, sub.checkpoint, sub.owner, sub.lease_until,
         coalesce(sub.lease_until > now(), false) AS lease_valid,
         (SELECT st.version FROM ${s}.streams st WHERE st.stream_id = sub.stream_id) AS stream_version,
         (SELECT e.global_position FROM ${s}.events e WHERE e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())
           ORDER BY e.transaction_id DESC, e.global_position DESC LIMIT 1) AS all_head,
         (SELECT count(*) FROM ${s}.subscription_failures f WHERE f.subscription = sub.name AND f.status = 'failed')::int AS failed,
         (SELECT count(*) FROM ${s}.subscription_failures f WHERE f.subscription = sub.name AND f.status = 'dead')::int AS dead,
         sub.updated_at
    FROM ${s}.subscriptions sub
   WHERE $1::text IS NULL OR sub.name = $1
      OR (starts_with(sub.name, $1 || ':') AND substr(sub.name, length($1) + 2) ~ '^[0-9]+$')
   ORDER BY sub.name`;

/**
 * Events of a filter after the `$all` cursor $1 that readers see now, counted up to $7: $2 event
 * types or NULL, $3 LIKE pattern of stream ids or NULL, $4 tags (all of them) or NULL, $5 and $6
 * partition count and index or NULL (the hash of `$all` reads). `$all` is ordered by (transaction
 * id, position): the count is of events, not a distance of positions. An unknown cursor counts 0.
 */
export const eventsAfterSql = (s: string): string => `
  WITH cursor AS (
    SELECT transaction_id FROM ${s}.events WHERE global_position = $1
    UNION ALL SELECT transaction_id FROM ${s}.hard_deleted_positions WHERE global_position = $1
    UNION ALL SELECT '0'::xid8 WHERE $1 = 0
    LIMIT 1)
  SELECT count(*)::bigint AS n FROM cursor c JOIN LATERAL (
    SELECT 1 FROM ${s}.events e
     WHERE (e.transaction_id, e.global_position) > (c.transaction_id, $1::bigint)
       AND e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())
       AND ($2::text[] IS NULL OR e.event_type = ANY($2::text[]))
       AND ($3::text IS NULL OR e.stream_id LIKE $3::text)
       AND ($4::text[] IS NULL OR e.tags @> $4::text[])
       AND ($5::int IS NULL OR ('x' || substr(md5(e.stream_id), 1, 8))::bit(32)::bigint % $5::int = $6::int)
     LIMIT $7) x ON true`;
