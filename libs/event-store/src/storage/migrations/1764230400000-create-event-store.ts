import type { MigrationInterface, QueryRunner } from 'typeorm';
import { storeSchema } from './store-schema.js';

/**
 * The store's tables. `$all` order is (transaction_id, global_position): see docs/design.md.
 * The append itself is one server-side function, so that it is one round trip.
 *
 * Payloads are `json`, not `jsonb`: the store never queries inside them, and `json` keeps the text
 * as written, so storing it is a syntax check and reading it (and its checksum) is a copy, where
 * `jsonb` would parse it on the way in and print it again on every read.
 */
export class CreateEventStore1764230400000 implements MigrationInterface {
  name = 'CreateEventStore1764230400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = storeSchema(queryRunner);
    await queryRunner.query(`
      CREATE TABLE ${s}.streams (
        stream_id text COLLATE "C" PRIMARY KEY,
        version bigint NOT NULL DEFAULT 0 CHECK (version >= 0),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        deleted_at timestamptz,
        metadata jsonb NOT NULL DEFAULT '{}'
      )`);
    await queryRunner.query(`
      CREATE TABLE ${s}.events (
        global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
        stream_id text COLLATE "C" NOT NULL,
        stream_version bigint NOT NULL CHECK (stream_version >= 1),
        event_id uuid NOT NULL,
        event_type text NOT NULL,
        schema_version integer NOT NULL CHECK (schema_version >= 1),
        data json NOT NULL,
        metadata json NOT NULL,
        causation_id uuid,
        correlation_id uuid,
        created_at timestamptz NOT NULL DEFAULT now(),
        checksum bytea NOT NULL,
        CONSTRAINT events_stream_version_key UNIQUE (stream_id, stream_version),
        CONSTRAINT events_event_id_key UNIQUE (event_id)
      )`);
    await queryRunner.query(`CREATE INDEX events_all_order_idx ON ${s}.events (transaction_id, global_position)`);
    await queryRunner.query(`
      CREATE TABLE ${s}.hard_deleted_positions (
        global_position bigint PRIMARY KEY,
        transaction_id xid8 NOT NULL
      )`);
    await queryRunner.query(`
      CREATE TABLE ${s}.snapshots (
        source_id text COLLATE "C" PRIMARY KEY,
        source_version bigint NOT NULL,
        source_type text NOT NULL,
        data jsonb NOT NULL,
        metadata jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(immutabilityFunction(s));
    await queryRunner.query(`
      CREATE TRIGGER events_immutable BEFORE UPDATE OR DELETE ON ${s}.events
      FOR EACH ROW EXECUTE FUNCTION ${s}.refuse_event_change()`);
    await queryRunner.query(`
      CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON ${s}.events
      FOR EACH STATEMENT EXECUTE FUNCTION ${s}.refuse_event_change()`);
    await queryRunner.query(appendFunction(s));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = storeSchema(queryRunner);
    await queryRunner.query(`DROP FUNCTION ${s}.append_to_stream(text, bigint, json)`);
    await queryRunner.query(`DROP TABLE ${s}.snapshots, ${s}.hard_deleted_positions, ${s}.events, ${s}.streams`);
    await queryRunner.query(`DROP FUNCTION ${s}.refuse_event_change()`);
  }
}

/** Events are immutable: only the hard-delete path, which sets `event_store.hard_delete`, may remove rows. */
function immutabilityFunction(s: string): string {
  return `
    CREATE FUNCTION ${s}.refuse_event_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' AND current_setting('event_store.hard_delete', true) = 'on' THEN
        RETURN OLD;
      END IF;
      RAISE EXCEPTION 'stored events are immutable: % on %.% refused', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'ESIMM', HINT = 'delete a stream with deleteStream(..., { mode: ''hard'' })';
    END $$`;
}

/**
 * Planner settings of the append functions from migration 1796256000000 on: their joins are
 * lookups by unique key, and a plan cached while `events` was small joined the appended ids to a
 * full scan of the event-id index by hash (measured: 0.6 ms per call growing to 2.3 ms as a fresh
 * table reached 10,000 events); without hash and merge joins it stays a lookup per id. No JIT and
 * no parallel workers: a cost estimate made with those priced out passes their thresholds, and the
 * tag-lock statement of a one-event append was planned with parallel workers (5 ms to start them,
 * for 5 rows).
 */
export const KEYED_JOINS = `
    SET enable_hashjoin = off
    SET enable_mergejoin = off
    SET jit = off
    SET max_parallel_workers_per_gather = 0`;

/**
 * One append in one round trip. Expected version is encoded as: -1 any, -2 stream_exists,
 * 0 no_stream, n >= 1 exactly n. Failures raise ES* SQLSTATEs with the actual version in DETAIL,
 * so the whole statement (a stream row it created included) rolls back.
 *
 * The stream row is locked before anything else: concurrent appends to one stream queue there
 * (so `any` never fails spuriously and losers burn no positions), while appends to different
 * streams share no lock at all. With `streamLock`, the stream's advisory lock (an SQL key
 * expression of `p_stream_id`) is taken even before that, so that the appends to one stream get
 * their transaction ids in version order (migration 1796083200000); `typeLocks`, a query, takes
 * the events' type locks right after it and `keyedJoins` adds {@link KEYED_JOINS} (migration
 * 1796256000000); `replace` writes `CREATE OR REPLACE`. This migration creates the function without any of them.
 */
export function appendFunction(
  s: string,
  options: { replace?: boolean; streamLock?: string; typeLocks?: string; keyedJoins?: boolean } = {},
): string {
  // The checksum a re-sent event would have at the place where its id is stored.
  const incomingChecksum = `sha256(convert_to(concat_ws(E'\\x1f', p_stream_id, e.stream_version::text,
               ((i.event->>'event_id')::uuid)::text, i.event->>'event_type',
               ((i.event->>'schema_version')::integer)::text, (i.event->'data')::text,
               (i.event->'metadata')::text, coalesce(((i.event->>'causation_id')::uuid)::text, ''),
               coalesce(((i.event->>'correlation_id')::uuid)::text, '')), 'UTF8'))`;
  // Before anything gives the transaction its id: see streamLockKeySql in append-to-stream.sql.ts.
  const lockFirst = options.streamLock === undefined ? '' : `\n      PERFORM pg_advisory_xact_lock(${options.streamLock});\n`;
  // After the stream lock, the type locks of the events (migration 1796256000000).
  const typeLocks = options.typeLocks === undefined ? '' : `      PERFORM (${options.typeLocks});\n`;
  return `
    CREATE ${options.replace ? 'OR REPLACE ' : ''}FUNCTION ${s}.append_to_stream(p_stream_id text, p_expected bigint, p_events json)
    RETURNS TABLE (from_version bigint, to_version bigint, first_position bigint, last_position bigint)
    LANGUAGE plpgsql
    -- Every lookup here is by a unique key. PL/pgSQL caches plans per session, and a plan made
    -- while the tables were nearly empty is a sequential scan that then grows with the table
    -- (measured: 4,600 appends/s falling to 1,500/s within 8 s on a fresh store).
    SET enable_seqscan = off${options.keyedJoins ? KEYED_JOINS : ''}
    AS $$
    DECLARE
      v_version bigint;
      v_deleted boolean;
      v_count bigint := json_array_length(p_events);
      v_found bigint;
      v_same_stream boolean;
      v_base bigint;
      v_base_max bigint;
      v_duplicate text;
    BEGIN${lockFirst}${typeLocks}
      LOOP
        SELECT s.version, s.deleted_at IS NOT NULL INTO v_version, v_deleted
          FROM ${s}.streams s WHERE s.stream_id = p_stream_id FOR UPDATE;
        EXIT WHEN FOUND;
        IF p_expected = -2 THEN
          RAISE EXCEPTION 'stream not found' USING ERRCODE = 'ESNFD', DETAIL = '0';
        ELSIF p_expected > 0 THEN
          RAISE EXCEPTION 'wrong expected version' USING ERRCODE = 'ESWEV', DETAIL = '0';
        END IF;
        -- A concurrent creator makes this a no-op after it commits; the loop then locks its row.
        INSERT INTO ${s}.streams (stream_id) VALUES (p_stream_id) ON CONFLICT (stream_id) DO NOTHING;
      END LOOP;

      -- Idempotent retry: every id already stored, in order, at one place of this stream, with
      -- the same content (checksum). It is recognised even if the stream was soft-deleted since:
      -- the append it repeats did succeed.
      SELECT count(*), coalesce(bool_and(e.stream_id = p_stream_id AND e.checksum = ${incomingChecksum}), false),
             min(e.stream_version - i.ord), max(e.stream_version - i.ord),
             (array_agg(e.event_id::text ORDER BY i.ord))[1]
        INTO v_found, v_same_stream, v_base, v_base_max, v_duplicate
        FROM json_array_elements(p_events) WITH ORDINALITY AS i(event, ord)
        JOIN ${s}.events e ON e.event_id = (i.event->>'event_id')::uuid;
      IF v_found > 0 THEN
        IF v_found = v_count AND v_same_stream AND v_base = v_base_max AND (
             p_expected = -1 OR (p_expected = -2 AND v_base >= 1) OR p_expected = v_base) THEN
          RETURN QUERY
            SELECT min(e.stream_version), max(e.stream_version), min(e.global_position), max(e.global_position)
              FROM ${s}.events e
             WHERE e.stream_id = p_stream_id AND e.stream_version BETWEEN v_base + 1 AND v_base + v_count;
          RETURN;
        END IF;
        RAISE EXCEPTION 'duplicate event' USING ERRCODE = 'ESDUP', DETAIL = v_duplicate;
      END IF;

      IF v_deleted THEN
        RAISE EXCEPTION 'stream deleted' USING ERRCODE = 'ESDEL', DETAIL = v_version::text;
      END IF;

      IF (p_expected = -2 AND v_version = 0) THEN
        RAISE EXCEPTION 'stream not found' USING ERRCODE = 'ESNFD', DETAIL = '0';
      ELSIF p_expected >= 0 AND p_expected <> v_version THEN
        RAISE EXCEPTION 'wrong expected version' USING ERRCODE = 'ESWEV', DETAIL = v_version::text;
      END IF;

      UPDATE ${s}.streams SET version = v_version + v_count, updated_at = now()
       WHERE stream_id = p_stream_id;

      RETURN QUERY
        WITH inserted AS (
          INSERT INTO ${s}.events (stream_id, stream_version, event_id, event_type, schema_version,
                                   data, metadata, causation_id, correlation_id, checksum)
          SELECT p_stream_id, v_version + t.ord, t.event_id, t.event_type, t.schema_version,
                 t.data, t.metadata, t.causation_id, t.correlation_id,
                 sha256(convert_to(concat_ws(E'\\x1f', p_stream_id, (v_version + t.ord)::text,
                   t.event_id::text, t.event_type, t.schema_version::text, t.data::text,
                   t.metadata::text, coalesce(t.causation_id::text, ''),
                   coalesce(t.correlation_id::text, '')), 'UTF8'))
            FROM ROWS FROM (json_to_recordset(p_events) AS (
                   event_id uuid, event_type text, schema_version integer, data json,
                   metadata json, causation_id uuid, correlation_id uuid))
                 WITH ORDINALITY AS t(event_id, event_type, schema_version, data, metadata,
                                      causation_id, correlation_id, ord)
           ORDER BY t.ord
          RETURNING global_position)
        SELECT v_version + 1, v_version + v_count, min(global_position), max(global_position)
          FROM inserted;
    END $$`;
}
