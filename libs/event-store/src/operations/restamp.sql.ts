/*
 * SQL of `restamp` (restamp.operation.ts, docs/operations.md "Backup and restore").
 *
 * The walk: the rows that hold a place in `$all` (events, and the hard-deleted positions that
 * cursors may name), in `$all` order (transaction_id, global_position), page by page. A new group
 * starts wherever the position goes down from the previous row; group g (1, 2, ...) gets the
 * transaction id g + 2 (xid8 values 0 to 2 are special). Within a group positions increase, so
 * ordering by (new id, position) gives back exactly the order walked. A group boundary only falls
 * between two transactions (one transaction's positions increase), so the row in group g belongs at
 * least to the g-th distinct transaction id walked, and real ids start at 3: a new id is never above
 * the old one. The pages rely on that (a row rewritten lands behind the cursor and is not walked
 * again); each page checks it (`raised`).
 */

/** Every column of the store's tables of type xid8: restamp gives each a new value, and refuses a schema with others. */
export const RESTAMPED_COLUMNS = [
  'events.transaction_id',
  'hard_deleted_positions.transaction_id',
  'event_tags.transaction_id',
  'stream_links.transaction_id',
] as const;

/** The tables restamp rewrites: locked against writers for the rewrite. */
export const RESTAMPED_TABLES = ['events', 'hard_deleted_positions', 'event_tags', 'stream_links'] as const;

/** $1 schema name: the `table.column` of every xid8 column in it. */
export const transactionIdColumnsSql = `
  SELECT c.relname || '.' || a.attname AS name
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped AND a.atttypid = 'xid8'::regtype
   ORDER BY 1`;

/** The rows the walk goes through, for progress. */
export const walkedRowsSql = (s: string): string =>
  `SELECT ((SELECT count(*) FROM ${s}.events) + (SELECT count(*) FROM ${s}.hard_deleted_positions))::text AS total`;

/**
 * A copy of `hard_deleted_positions` indexed in `$all` order (the table itself is keyed by position
 * only), for the walk; dropped at commit. It keeps the old ids while the table is rewritten.
 */
export const copyDeletedPositionsSql = (s: string): string => `
  CREATE TEMPORARY TABLE restamp_deleted ON COMMIT DROP AS
    SELECT transaction_id, global_position FROM ${s}.hard_deleted_positions;
  ALTER TABLE pg_temp.restamp_deleted ADD PRIMARY KEY (transaction_id, global_position)`;

/**
 * The page after the cursor ($1 transaction id, $2 position; `0`, `0` at the start), $3 rows at
 * most, numbered: $4 the position of the row before the page (NULL at the start), $5 the group
 * that row is in (1 at the start). `stamped` has each row's old id, position, kind, group and new id.
 */
const stampedPage = (s: string): string => `
  page AS MATERIALIZED (
    SELECT r.transaction_id, r.global_position, r.deleted FROM (
      (SELECT e.transaction_id, e.global_position, false AS deleted FROM ${s}.events e
        WHERE (e.transaction_id, e.global_position) > ($1::xid8, $2::bigint)
        ORDER BY e.transaction_id, e.global_position LIMIT $3)
      UNION ALL
      (SELECT d.transaction_id, d.global_position, true FROM pg_temp.restamp_deleted d
        WHERE (d.transaction_id, d.global_position) > ($1::xid8, $2::bigint)
        ORDER BY d.transaction_id, d.global_position LIMIT $3)) r
    ORDER BY r.transaction_id, r.global_position LIMIT $3),
  stepped AS (
    SELECT p.*, coalesce(lag(p.global_position) OVER w, $4::bigint) > p.global_position AS descends
      FROM page p WINDOW w AS (ORDER BY p.transaction_id, p.global_position)),
  grouped AS (
    SELECT t.*, $5::bigint + count(*) FILTER (WHERE t.descends)
             OVER (ORDER BY t.transaction_id, t.global_position ROWS UNBOUNDED PRECEDING) AS grp
      FROM stepped t),
  stamped AS MATERIALIZED (SELECT g.*, (g.grp + 2)::text::xid8 AS new_id FROM grouped g),
  last AS (SELECT * FROM stamped ORDER BY transaction_id DESC, global_position DESC LIMIT 1)`;

/** What a page tells the walk: its rows, where it ended (old id, position, group), and whether a new id came out above its old one. */
const pageSummary = `
  (SELECT count(*) FROM stamped)::int AS rows,
  (SELECT transaction_id::text FROM last) AS last_transaction_id,
  (SELECT global_position::text FROM last) AS last_position,
  (SELECT grp::text FROM last) AS last_group,
  coalesce((SELECT bool_or(new_id > transaction_id) FROM stamped), false) AS raised`;

/** A page of the counting walk: nothing written. */
export const countPageSql = (s: string): string => `
  WITH ${stampedPage(s)}
  SELECT ${pageSummary}`;

/**
 * A page of the rewrite: the page's events, hard-deleted positions and the events' tags get their
 * new ids (rows already right are left alone, so a second restamp writes nothing), and so do the
 * links whose transaction ids fall in the page's stretch of `$all`. A link is no event and has no
 * place in `$all`; its id only has to be visible, and it gets the id of the last row walked at or
 * below its own (the links of a transaction that also appended get that transaction's id), or 3
 * below every row: the same rule on the new ids gives the same ids again. The stretch of a page
 * runs from its first old id to the first old id after it (`$6` true on the first page: from 0),
 * so that a transaction whose rows span two pages has its links done by the second.
 */
export const rewritePageSql = (s: string): string => `
  WITH ${stampedPage(s)},
  bounds AS (
    SELECT (SELECT transaction_id FROM stamped ORDER BY transaction_id, global_position LIMIT 1) AS first_tx,
           coalesce(LEAST(
             (SELECT e.transaction_id FROM ${s}.events e, last l
               WHERE (e.transaction_id, e.global_position) > (l.transaction_id, l.global_position)
               ORDER BY e.transaction_id, e.global_position LIMIT 1),
             (SELECT d.transaction_id FROM pg_temp.restamp_deleted d, last l
               WHERE (d.transaction_id, d.global_position) > (l.transaction_id, l.global_position)
               ORDER BY d.transaction_id, d.global_position LIMIT 1)), '18446744073709551615'::xid8) AS next_tx),
  anchors AS (
    SELECT a.transaction_id AS from_tx, a.new_id,
           coalesce(lead(a.transaction_id) OVER (ORDER BY a.transaction_id), (SELECT next_tx FROM bounds)) AS to_tx
      FROM (SELECT DISTINCT ON (transaction_id) transaction_id, new_id FROM stamped ORDER BY transaction_id) a),
  relinked AS (
    SELECT l.stream_id, l.stream_version, a.new_id
      FROM anchors a JOIN ${s}.stream_links l ON l.transaction_id >= a.from_tx AND l.transaction_id < a.to_tx
    UNION ALL
    SELECT l.stream_id, l.stream_version, '3'::xid8
      FROM bounds b JOIN ${s}.stream_links l ON $6::boolean AND l.transaction_id < b.first_tx),
  events_done AS (
    UPDATE ${s}.events e SET transaction_id = st.new_id FROM stamped st
     WHERE NOT st.deleted AND e.global_position = st.global_position AND e.transaction_id <> st.new_id
    RETURNING 1),
  deleted_done AS (
    UPDATE ${s}.hard_deleted_positions h SET transaction_id = st.new_id FROM stamped st
     WHERE st.deleted AND h.global_position = st.global_position AND h.transaction_id <> st.new_id
    RETURNING 1),
  tags_done AS (
    UPDATE ${s}.event_tags t SET transaction_id = st.new_id FROM stamped st
     WHERE NOT st.deleted AND t.global_position = st.global_position AND t.transaction_id <> st.new_id
    RETURNING 1),
  links_done AS (
    UPDATE ${s}.stream_links l SET transaction_id = r.new_id FROM relinked r
     WHERE l.stream_id = r.stream_id AND l.stream_version = r.stream_version AND l.transaction_id <> r.new_id
    RETURNING 1)
  SELECT ${pageSummary},
         (SELECT count(*) FROM events_done)::int AS events,
         (SELECT count(*) FROM deleted_done)::int AS deleted,
         (SELECT count(*) FROM tags_done)::int AS tags,
         (SELECT count(*) FROM links_done)::int AS links`;

/** A row of {@link countPageSql} or {@link rewritePageSql}. */
export interface RestampPageRow {
  rows: number;
  last_transaction_id: string | null;
  last_position: string | null;
  last_group: string | null;
  raised: boolean;
  /** Rewrite only: rows changed, by table. */
  events?: number;
  deleted?: number;
  tags?: number;
  links?: number;
}

/** Where the cluster's transaction ids stand: the oldest still running (`xmin`) and the next to be given (`xmax`). */
export const transactionCounterSql = `
  SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin, pg_snapshot_xmax(pg_current_snapshot())::text AS xmax`;

/** A row of {@link transactionCounterSql}. */
export interface TransactionCounterRow {
  xmin: string;
  xmax: string;
}

/**
 * Consumes `count` transaction ids: a transaction per id, each committed at once, in one statement
 * (a `DO` block may commit when it is not inside a transaction block). Asynchronous commit: these
 * transactions write nothing worth a WAL flush each, and the restamp's own commit, later in the
 * same WAL, flushes them all (a crash before it loses them together with the restamp, which then
 * runs again).
 */
export const consumeTransactionIdsSql = (count: number): string => `
  DO $$
  BEGIN
    FOR i IN 1..${Math.trunc(count)} LOOP
      PERFORM set_config('synchronous_commit', 'off', true);
      PERFORM pg_current_xact_id();
      COMMIT;
    END LOOP;
  END $$`;

/** The oldest open transactions that have an id: they hold the cluster's `xmin` back. */
export const blockingTransactionsSql = `
  SELECT pid, datname, backend_xid::text AS xid, xact_start
    FROM pg_stat_activity
   WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()
   ORDER BY xact_start LIMIT 5`;

/** A row of {@link blockingTransactionsSql}. */
export interface BlockingTransactionRow {
  pid: number;
  datname: string | null;
  xid: string;
  xact_start: Date | null;
}

/**
 * Other sessions that hold more than a read lock on a table of the store (writers in flight, a
 * manual `LOCK`), autovacuum aside (it gives way to the restamp's lock by itself).
 */
export const writersSql = (s: string): string => `
  SELECT DISTINCT l.pid, c.relname, l.mode, a.application_name
    FROM pg_locks l
    JOIN pg_class c ON c.oid = l.relation
    JOIN pg_stat_activity a ON a.pid = l.pid
   WHERE l.relation IN (${[...RESTAMPED_TABLES, 'streams'].map((table) => `'${s}.${table}'::regclass`).join(', ')})
     AND l.pid <> pg_backend_pid() AND l.mode <> 'AccessShareLock' AND a.backend_type = 'client backend'
   ORDER BY l.pid`;

/** A row of {@link writersSql}. */
export interface WriterRow {
  pid: number;
  relname: string;
  mode: string;
  application_name: string;
}

/** Takes the store's tables from writers for the rest of the transaction; readers go on reading the old ids until it commits. */
export const lockTablesSql = (s: string): string =>
  `LOCK TABLE ${RESTAMPED_TABLES.map((table) => `${s}.${table}`).join(', ')} IN EXCLUSIVE MODE`;

/** Whether the immutability trigger of `events` is there and enabled. */
export const immutabilityTriggerSql = (s: string): string => `
  SELECT tgenabled <> 'D' AS enabled FROM pg_trigger WHERE tgrelid = '${s}.events'::regclass AND tgname = 'events_immutable'`;

/**
 * Switches the immutability trigger of `events` off and on inside the restamp's transaction. The
 * change is the transaction's own until it commits, with the trigger on again, so no other
 * session ever runs without it; `DISABLE TRIGGER` takes a lock that writers wait for, and that
 * readers do not.
 */
export const immutabilitySql = (s: string, enabled: boolean): string =>
  `ALTER TABLE ${s}.events ${enabled ? 'ENABLE' : 'DISABLE'} TRIGGER events_immutable`;
