/*
 * The projections' rows. Leases are measured on the database clock with `clock_timestamp()`, not
 * `now()`: inside a batch's transaction `now()` is when the transaction began, and a lease checked
 * against it would still look valid after it ran out.
 */

/** A projection's row as read, with its leases judged by the database clock. */
export interface ProjectionRow {
  name: string;
  filter: Record<string, unknown>;
  tables: Record<string, string>;
  generation: number;
  checkpoint: string;
  status: 'running' | 'halted';
  owner: string | null;
  lease_valid: boolean;
  failed_event_id: string | null;
  failed_position: string | null;
  last_error: Record<string, unknown> | null;
  rebuild_generation: number | null;
  rebuild_tables: Record<string, string> | null;
  rebuild_owner: string | null;
  rebuild_active: boolean;
  rebuild_checkpoint: string | null;
  rebuild_processed: string | null;
  rebuild_total: string | null;
  rebuild_started_at: Date | null;
  /** A pending rebuild request (`event-store projections rebuild`), to the millisecond. */
  rebuild_requested_at: Date | null;
  /** Why the last requested rebuild gave up: `{ message, at }`. */
  rebuild_error: Record<string, unknown> | null;
  updated_at: Date;
}

const columns = `name, filter, tables, generation, checkpoint, status, owner,
  coalesce(lease_until > clock_timestamp(), false) AS lease_valid, failed_event_id, failed_position, last_error,
  rebuild_generation, rebuild_tables, rebuild_owner, coalesce(rebuild_lease_until > clock_timestamp(), false) AS rebuild_active,
  rebuild_checkpoint, rebuild_processed, rebuild_total, rebuild_started_at, rebuild_requested_at, rebuild_error, updated_at`;

const lease = (ms: string): string => `clock_timestamp() + make_interval(secs => ${ms}::double precision / 1000)`;

/** $1 name. */
export const readProjectionSql = (s: string): string => `SELECT ${columns} FROM ${s}.projections WHERE name = $1`;

/** $1 name: the row, locked until the transaction ends. */
export const lockProjectionSql = (s: string): string => `SELECT ${columns} FROM ${s}.projections WHERE name = $1 FOR UPDATE`;

/** Every projection, by name. */
export const listProjectionsSql = (s: string): string => `SELECT ${columns} FROM ${s}.projections ORDER BY name`;

/**
 * $1 name, $2 filter, $3 tables: creates the row if missing; returns it only when this statement
 * created it (its creator then creates the tables, in the same transaction: a process starting
 * beside it waits on the row's key until that commits, and creates nothing).
 */
export const createProjectionSql = (s: string): string => `
  INSERT INTO ${s}.projections (name, filter, tables) VALUES ($1, $2::jsonb, $3::jsonb)
  ON CONFLICT (name) DO NOTHING
  RETURNING name`;

/**
 * $1 name, $2 owner, $3 lease (ms), $4 filter, $5 tables: takes the lease when it is free, lapsed
 * or already the owner's, the projection runs (not halted), and its stored definition is the
 * caller's (jsonb equality: key order does not matter). The checkpoint and generation to go on from.
 */
export const acquireProjectionSql = (s: string): string => `
  UPDATE ${s}.projections
     SET owner = $2, lease_until = ${lease('$3')}, updated_at = now()
   WHERE name = $1 AND status = 'running' AND filter = $4::jsonb AND tables = $5::jsonb
     AND (owner IS NULL OR owner = $2 OR lease_until IS NULL OR lease_until < clock_timestamp())
  RETURNING checkpoint, generation`;

/** $1 name, $2 owner, $3 lease (ms): renews the owner's lease; no row when it is not the owner's. */
export const renewProjectionSql = (s: string): string => `
  UPDATE ${s}.projections SET lease_until = ${lease('$3')}
   WHERE name = $1 AND owner = $2
  RETURNING name`;

/**
 * $1 name, $2 owner, $3 lease (ms), $4 checkpoint the batch began at, $5 its new checkpoint,
 * $6 generation: the fence of a batch, in its transaction. It moves the checkpoint only while the
 * lease is the owner's and valid now, and nothing moved the checkpoint or switched the tables since
 * the batch read it; no row means the batch must roll back (this process lost the projection).
 */
export const advanceProjectionSql = (s: string): string => `
  UPDATE ${s}.projections
     SET checkpoint = $5, lease_until = ${lease('$3')}, updated_at = now()
   WHERE name = $1 AND owner = $2 AND lease_until > clock_timestamp()
     AND checkpoint = $4 AND generation = $6 AND status = 'running'
  RETURNING name`;

/** $1 name, $2 owner: hands the lease back. */
export const releaseProjectionSql = (s: string): string => `
  UPDATE ${s}.projections SET owner = NULL, lease_until = NULL, updated_at = now() WHERE name = $1 AND owner = $2`;

/** $1 name, $2 owner, $3 error (JSON): records a failure of the owner's run. */
export const recordErrorSql = (s: string): string => `
  UPDATE ${s}.projections SET last_error = $3::jsonb, updated_at = now() WHERE name = $1 AND owner = $2`;

/**
 * $1 name, $2 owner, $3 error (JSON), $4 event id, $5 its position, $6 checkpoint: halts the
 * projection at the event (fenced like a batch) and hands the lease back; every process stands by
 * until it is resumed.
 */
export const haltProjectionSql = (s: string): string => `
  UPDATE ${s}.projections
     SET status = 'halted', last_error = $3::jsonb, failed_event_id = $4, failed_position = $5,
         owner = NULL, lease_until = NULL, updated_at = now()
   WHERE name = $1 AND owner = $2 AND checkpoint = $6 AND status = 'running'
  RETURNING name`;

/** $1 name: a halted projection runs again, from its checkpoint (the event it halted at first). */
export const resumeProjectionSql = (s: string): string => `
  UPDATE ${s}.projections
     SET status = 'running', failed_event_id = NULL, failed_position = NULL, updated_at = now()
   WHERE name = $1 AND status = 'halted'
  RETURNING name`;

/**
 * $1 name, $2 rebuild owner, $3 lease (ms), $4 generation, $5 its tables, $6 filter, $7 events to
 * replay (as counted at the start): records the rebuild before its tables are created, in the
 * same transaction, so that a crash leaves a record of what to drop.
 */
export const beginRebuildSql = (s: string): string => `
  UPDATE ${s}.projections
     SET rebuild_generation = $4, rebuild_tables = $5::jsonb, rebuild_filter = $6::jsonb, rebuild_owner = $2,
         rebuild_lease_until = ${lease('$3')}, rebuild_checkpoint = 0, rebuild_processed = 0, rebuild_total = $7,
         rebuild_started_at = now(), updated_at = now()
   WHERE name = $1`;

/**
 * $1 name, $2 rebuild owner, $3 lease (ms), $4 generation, $5 checkpoint the batch began at,
 * $6 its new checkpoint, $7 events in the batch: the fence of a rebuild's batch.
 */
export const advanceRebuildSql = (s: string): string => `
  UPDATE ${s}.projections
     SET rebuild_checkpoint = $6, rebuild_processed = rebuild_processed + $7, rebuild_lease_until = ${lease('$3')}
   WHERE name = $1 AND rebuild_owner = $2 AND rebuild_generation = $4 AND rebuild_checkpoint = $5
     AND rebuild_lease_until > clock_timestamp()
  RETURNING name`;

/** $1 name, $2 rebuild owner, $3 lease (ms), $4 generation: renews the rebuild's lease. */
export const renewRebuildSql = (s: string): string => `
  UPDATE ${s}.projections SET rebuild_lease_until = ${lease('$3')}
   WHERE name = $1 AND rebuild_owner = $2 AND rebuild_generation = $4
  RETURNING name`;

/**
 * $1 name, $2 generation, $3 tables, $4 filter, $5 checkpoint: the switch to a rebuilt read model.
 * The lease is freed (a process that ran the old model rolls back its next batch, and takes the
 * projection again from the new checkpoint), a halt is lifted, the rebuild's record cleared.
 */
export const switchRebuildSql = (s: string): string => `
  UPDATE ${s}.projections
     SET generation = $2, tables = $3::jsonb, filter = $4::jsonb, checkpoint = $5, status = 'running',
         owner = NULL, lease_until = NULL, failed_event_id = NULL, failed_position = NULL,
         rebuild_generation = NULL, rebuild_tables = NULL, rebuild_filter = NULL, rebuild_owner = NULL,
         rebuild_lease_until = NULL, rebuild_checkpoint = NULL, rebuild_processed = NULL, rebuild_total = NULL,
         rebuild_started_at = NULL, rebuild_requested_at = NULL, rebuild_error = NULL, updated_at = now()
   WHERE name = $1`;

/**
 * $1 name: records a rebuild request, or keeps the one pending (requests made before the next
 * switch are all answered by it). Its time is the latest request's, to the millisecond (so that it
 * compares equal once read into a JavaScript date); a new request forgets the last one's failure.
 */
export const requestRebuildSql = (s: string): string => `
  UPDATE ${s}.projections
     SET rebuild_requested_at = greatest(rebuild_requested_at, date_trunc('milliseconds', clock_timestamp())),
         rebuild_error = NULL, updated_at = now()
   WHERE name = $1
  RETURNING ${columns}`;

/**
 * $1 name, $2 request time: withdraws the request made at that time, unless a rebuild is under
 * way (it answers it) or a later request replaced it (its own waiter withdraws it).
 */
export const withdrawRebuildRequestSql = (s: string): string => `
  UPDATE ${s}.projections SET rebuild_requested_at = NULL, updated_at = now()
   WHERE name = $1 AND rebuild_requested_at = $2
     AND NOT coalesce(rebuild_lease_until > clock_timestamp(), false)
  RETURNING name`;

/**
 * $1 names, $2 owner: the pending rebuild requests of those projections that this process should
 * take up: no rebuild is under way, and this process holds the projection's lease or no process
 * does (it is halted, or stored with another definition, or its holder just died: processes that
 * race for it are put in line by the rebuild's own claim on the row).
 */
export const pendingRebuildRequestsSql = (s: string): string => `
  SELECT name, rebuild_requested_at FROM ${s}.projections
   WHERE name = ANY($1::text[]) AND rebuild_requested_at IS NOT NULL
     AND NOT coalesce(rebuild_lease_until > clock_timestamp(), false)
     AND ((owner = $2 AND lease_until > clock_timestamp()) OR NOT coalesce(lease_until > clock_timestamp(), false))`;

/**
 * $1 name, $2 time of the request the rebuild took up, $3 error message: a requested rebuild gave
 * up; the requests it answered are cleared (a later one stays, and is tried again), and the error
 * kept with the database's time (a new request clears it: one found by a waiter came after its
 * request).
 */
export const failRebuildRequestSql = (s: string): string => `
  UPDATE ${s}.projections
     SET rebuild_requested_at = NULL, rebuild_error = jsonb_build_object('message', $3::text, 'at', clock_timestamp()),
         updated_at = now()
   WHERE name = $1 AND rebuild_requested_at <= $2`;

/**
 * $1 name, $2 rebuild owner, $3 generation: forgets a rebuild that gave up (its tables already
 * dropped in the same transaction). The generation number stays used: the next rebuild takes a
 * higher one.
 */
export const abandonRebuildSql = (s: string): string => `
  UPDATE ${s}.projections
     SET rebuild_tables = NULL, rebuild_filter = NULL, rebuild_owner = NULL, rebuild_lease_until = NULL,
         rebuild_checkpoint = NULL, rebuild_processed = NULL, rebuild_total = NULL, rebuild_started_at = NULL,
         updated_at = now()
   WHERE name = $1 AND rebuild_owner = $2 AND rebuild_generation = $3`;

/**
 * $1 and $2 cursors (global positions; 0 = the start): whether $1 is at or after $2 in `$all` order
 * (transaction id, position). An unknown cursor compares as NULL.
 */
export const cursorAtOrAfterSql = (s: string): string => `
  WITH a AS (${cursorOf(s, '$1')}), b AS (${cursorOf(s, '$2')})
  SELECT ((SELECT transaction_id FROM a), $1::bigint) >= ((SELECT transaction_id FROM b), $2::bigint) AS reached`;

function cursorOf(s: string, position: string): string {
  return `SELECT transaction_id FROM ${s}.events WHERE global_position = ${position}
    UNION ALL SELECT transaction_id FROM ${s}.hard_deleted_positions WHERE global_position = ${position}
    UNION ALL SELECT '0'::xid8 WHERE ${position} = 0
    LIMIT 1`;
}

/** $1 table (a `regclass` text): the names of its indexes, for renaming them after a switch. */
export const tableIndexesSql = `
  SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = $1::regclass`;
