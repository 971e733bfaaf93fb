/** Age in seconds of the oldest open transaction that holds a transaction id (it holds `$all` readers back). */
export const oldestTransactionSql = `
  SELECT coalesce(max(extract(epoch FROM now() - xact_start)), 0)::float8 AS seconds
    FROM pg_stat_activity WHERE backend_xid IS NOT NULL`;

/**
 * Per persistent subscription: how far behind it is (events after its checkpoint: by position for
 * `$all`, by version for a stream) and its failed and dead-lettered deliveries.
 */
export const subscriptionLagSql = (s: string): string => `
  SELECT sub.name,
         CASE WHEN sub.stream_id IS NULL
              THEN greatest(0, coalesce((SELECT max(global_position) FROM ${s}.events), 0) - sub.checkpoint)
              ELSE greatest(0, coalesce((SELECT version FROM ${s}.streams WHERE stream_id = sub.stream_id), 0) - sub.checkpoint)
         END::float8 AS lag,
         (SELECT count(*) FROM ${s}.subscription_failures f WHERE f.subscription = sub.name AND f.status = 'failed')::int AS failed,
         (SELECT count(*) FROM ${s}.subscription_failures f WHERE f.subscription = sub.name AND f.status = 'dead')::int AS dead
    FROM ${s}.subscriptions sub ORDER BY sub.name`;
