/** A persistent subscription's row as read. */
export interface SubscriptionRow {
  name: string;
  stream_id: string | null;
  filter: { eventTypes?: string[]; streamPrefix?: string };
  checkpoint: string;
  owner: string | null;
  lease_until: Date | null;
}

/** $1 name, $2 stream id (NULL: $all), $3 filter JSON, $4 first checkpoint. Creates it if missing. */
export const createSubscriptionSql = (s: string): string => `
  INSERT INTO ${s}.subscriptions (name, stream_id, filter, checkpoint) VALUES ($1, $2, $3::jsonb, $4)
  ON CONFLICT (name) DO NOTHING`;

/** $1 name. */
export const readSubscriptionSql = (s: string): string =>
  `SELECT name, stream_id, filter, checkpoint, owner, lease_until FROM ${s}.subscriptions WHERE name = $1`;

/**
 * $1 name, $2 owner, $3 lease in milliseconds: takes the lease if it is free, lapsed or already
 * ours. A lease taken away while running (a reset) has no owner but keeps its time: it is free
 * only once that time has passed, when its last holder has stopped delivering. `was_mine`: the
 * row named this owner already (read under the row's lock), so nobody delivered it since this
 * process last did. One row: the checkpoint (NULL while another process holds it), and whether the
 * subscription exists at all (a standby learns of a deletion from the query it polls with).
 */
export const acquireLeaseSql = (s: string): string => `
  WITH previous AS (SELECT name, owner FROM ${s}.subscriptions WHERE name = $1 FOR UPDATE),
  taken AS (
    UPDATE ${s}.subscriptions u
       SET owner = $2, lease_until = now() + make_interval(secs => $3::double precision / 1000), updated_at = now()
      FROM previous p
     WHERE u.name = p.name AND (p.owner = $2 OR u.lease_until IS NULL OR u.lease_until < now())
    RETURNING u.checkpoint, p.owner IS NOT DISTINCT FROM $2 AS was_mine)
  SELECT (SELECT checkpoint FROM taken) AS checkpoint, coalesce((SELECT was_mine FROM taken), false) AS was_mine,
         EXISTS (SELECT 1 FROM previous) AS present`;

/** $1 name, $2 owner, $3 lease in milliseconds, $4 checkpoint or NULL (keep): renews; nothing if lost. */
export const renewLeaseSql = (s: string): string => `
  UPDATE ${s}.subscriptions
     SET lease_until = now() + make_interval(secs => $3::double precision / 1000),
         checkpoint = coalesce($4::bigint, checkpoint), updated_at = now()
   WHERE name = $1 AND owner = $2
  RETURNING checkpoint`;

/**
 * $1 names, $2 owners (pairs), $3 lease in milliseconds: renews the leases of a process in one
 * statement. A row another transaction has locked (a reset, a delete, a checkpoint write) is
 * skipped, not waited for, so that it never holds up the renewals of the others. One row per pair:
 * `renewed`, or else whether the row is still the owner's as last committed (`owned`: the renewal
 * is unknown, the lease runs on) or not (lost).
 */
export const renewLeasesSql = (s: string): string => `
  WITH held AS (SELECT * FROM unnest($1::text[], $2::text[]) AS h(name, owner)),
  locked AS (
    SELECT s.name FROM ${s}.subscriptions s JOIN held h ON h.name = s.name AND h.owner = s.owner
       FOR UPDATE OF s SKIP LOCKED),
  renewed AS (
    UPDATE ${s}.subscriptions s
       SET lease_until = now() + make_interval(secs => $3::double precision / 1000), updated_at = now()
      FROM locked
     WHERE s.name = locked.name
    RETURNING s.name)
  SELECT h.name, h.owner,
         EXISTS (SELECT 1 FROM renewed r WHERE r.name = h.name) AS renewed,
         EXISTS (SELECT 1 FROM ${s}.subscriptions s WHERE s.name = h.name AND s.owner = h.owner) AS owned
    FROM held h`;

/**
 * $1 names, $2 owner, $3 lease in milliseconds: takes each lease that is free, lapsed or already
 * the owner's (as {@link acquireLeaseSql}, for many at once). One row per name that exists: its
 * checkpoint when taken, NULL while another holds it; names without a row were deleted.
 */
export const acquireLeasesSql = (s: string): string => `
  WITH previous AS (SELECT name, owner FROM ${s}.subscriptions WHERE name = ANY($1::text[]) ORDER BY name FOR UPDATE),
  taken AS (
    UPDATE ${s}.subscriptions u
       SET owner = $2, lease_until = now() + make_interval(secs => $3::double precision / 1000), updated_at = now()
      FROM previous p
     WHERE u.name = p.name AND (p.owner = $2 OR u.lease_until IS NULL OR u.lease_until < now())
    RETURNING u.name, u.checkpoint, p.owner IS NOT DISTINCT FROM $2 AS was_mine)
  SELECT p.name, t.checkpoint, coalesce(t.was_mine, false) AS was_mine
    FROM previous p LEFT JOIN taken t ON t.name = p.name`;

/** $1 names, $2 member: the member is alive now, for each of the names (one statement). */
export const heartbeatMembersSql = (s: string): string => `
  INSERT INTO ${s}.subscription_members (subscription, member) SELECT unnest($1::text[]), $2
  ON CONFLICT (subscription, member) DO UPDATE SET last_seen = now()`;

/**
 * $1 names, $2 how long a candidate counts as alive (ms): the live processes that want
 * each subscription (a process whose own lease of it lapsed is dead, not a candidate), with the
 * leases each holds now, fewest first (ties by member id): one row per subscription and candidate.
 */
export const candidatesOfSql = (s: string): string => `
  WITH live AS (
    SELECT m.subscription, m.member FROM ${s}.subscription_members m
     WHERE m.subscription = ANY($1::text[]) AND m.last_seen > now() - make_interval(secs => $2::double precision / 1000)
       AND NOT EXISTS (SELECT 1 FROM ${s}.subscriptions s
                        WHERE s.name = m.subscription AND s.owner = m.member AND s.lease_until < now())),
  held AS (
    SELECT owner, count(*)::int AS leases FROM ${s}.subscriptions
     WHERE owner IS NOT NULL AND lease_until > now() GROUP BY owner)
  SELECT l.subscription, l.member, coalesce(h.leases, 0) AS leases
    FROM live l LEFT JOIN held h ON h.owner = l.member
   ORDER BY l.subscription, leases, l.member`;

/** $1 name, $2 owner, $3 checkpoint or NULL: hands the lease back. */
export const releaseLeaseSql = (s: string): string => `
  UPDATE ${s}.subscriptions
     SET owner = NULL, lease_until = NULL, checkpoint = coalesce($3::bigint, checkpoint), updated_at = now()
   WHERE name = $1 AND owner = $2`;

/** $1 name: the subscription, or the group and its partitions (`name:0`, `name:1`, ...). */
export const deleteSubscriptionSql = (s: string): string => `
  DELETE FROM ${s}.subscriptions
   WHERE name = $1 OR (starts_with(name, $1 || ':') AND substr(name, length($1) + 2) ~ '^[0-9]+$')`;

/** $1 group, $2 member: the member is alive now. */
export const heartbeatMemberSql = (s: string): string => `
  INSERT INTO ${s}.subscription_members (subscription, member) VALUES ($1, $2)
  ON CONFLICT (subscription, member) DO UPDATE SET last_seen = now()`;

/** $1 group, $2 how long a member counts as alive without a heartbeat (ms): how many are. */
export const liveMembersSql = (s: string): string => `
  SELECT count(*)::int AS members FROM ${s}.subscription_members
   WHERE subscription = $1 AND last_seen > now() - make_interval(secs => $2::double precision / 1000)`;

/** $1 group, $2 member. */
export const leaveGroupSql = (s: string): string => `DELETE FROM ${s}.subscription_members WHERE subscription = $1 AND member = $2`;
