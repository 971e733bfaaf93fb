/** A failed delivery as read. */
export interface FailureRow {
  subscription: string;
  event_id: string;
  global_position: string;
  stream_id: string;
  stream_version: string;
  attempts: number;
  last_error: string;
  status: 'failed' | 'dead';
  next_attempt_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

const columns = `subscription, event_id, global_position, stream_id, stream_version, attempts, last_error, status,
  next_attempt_at, created_at, updated_at`;

/**
 * $1 subscription, $2 event id, $3 position, $4 stream, $5 version, $6 attempts, $7 error,
 * $8 status, $9 delay before the next attempt (ms, NULL: none). Records or updates a failure.
 */
export const recordFailureSql = (s: string): string => `
  INSERT INTO ${s}.subscription_failures
    (subscription, event_id, global_position, stream_id, stream_version, attempts, last_error, status, next_attempt_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now() + make_interval(secs => $9::double precision / 1000))
  ON CONFLICT (subscription, event_id) DO UPDATE
    SET attempts = excluded.attempts, last_error = excluded.last_error, status = excluded.status,
        next_attempt_at = excluded.next_attempt_at, updated_at = now()`;

/** $1 subscription, $2 most rows: failures due for a retry, oldest event first. */
export const dueFailuresSql = (s: string): string => `
  SELECT ${columns} FROM ${s}.subscription_failures
   WHERE subscription = $1 AND status = 'failed' AND next_attempt_at <= now()
   ORDER BY global_position LIMIT $2`;

/** $1 subscription, $2 status or NULL (both). */
export const listFailuresSql = (s: string): string => `
  SELECT ${columns} FROM ${s}.subscription_failures
   WHERE subscription = $1 AND ($2::text IS NULL OR status = $2::text)
   ORDER BY global_position`;

/** $1 subscription, $2 event id. */
export const deleteFailureSql = (s: string): string => `DELETE FROM ${s}.subscription_failures WHERE subscription = $1 AND event_id = $2`;

/** $1 subscription, $2 status to replay or NULL (both): makes them due now, attempts restarted. */
export const replayFailuresSql = (s: string): string => `
  UPDATE ${s}.subscription_failures
     SET status = 'failed', attempts = 1, next_attempt_at = now(), updated_at = now()
   WHERE subscription = $1 AND ($2::text IS NULL OR status = $2::text)`;

/**
 * $1 subscription, $2 checkpoint: moves a subscription nobody runs. The owner of a lapsed lease is
 * cleared too: a renewal of its last holder arriving late then finds the lease gone, rather than
 * going on from its own cursor over the new checkpoint.
 */
export const resetCheckpointSql = (s: string): string => `
  UPDATE ${s}.subscriptions SET checkpoint = $2, owner = NULL, updated_at = now()
   WHERE name = $1 AND (lease_until IS NULL OR lease_until < now())
  RETURNING name`;

/**
 * $1 name, $2 checkpoint: moves the checkpoint and takes the lease away from whoever holds it. The
 * holder's next renewal fails (it no longer owns the row), so it stops delivering. The lease keeps
 * its time: no process takes it (at the new checkpoint) before the holder's last renewal has run
 * out, when the holder has certainly stopped starting events.
 */
export const resetRunningCheckpointSql = (s: string): string => `
  UPDATE ${s}.subscriptions SET checkpoint = $2, owner = NULL, updated_at = now()
   WHERE name = $1
  RETURNING name`;
