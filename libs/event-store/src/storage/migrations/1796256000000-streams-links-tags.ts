import type { MigrationInterface, QueryRunner } from 'typeorm';
import {
  MAX_SHARED_TAG_LOCKS,
  streamLockKeySql,
  TAG_SPACE_KEY,
  tagLockSeed,
  typeLockKeySql,
  typeLocksSql,
} from '../sql/append-to-stream.sql.js';
import { checksumSql } from '../sql/checksum.sql.js';
import { appendFunction, KEYED_JOINS } from './1764230400000-create-event-store.js';
import { storeSchema } from './store-schema.js';

/**
 * Consistency across streams (docs/design.md, "Several streams, links and conditions"):
 * - `events.tags`, and `event_tags`, one row per (tag, event) in `$all` order, the index of tag
 *   reads and append conditions;
 * - `stream_links`, events linked into other streams, at versions of their own there (with the
 *   id of the transaction that linked them, by which the look for new writes finds them);
 * - `append_to_streams`, the append of several streams, links and conditions in one call;
 * - `append_to_stream` also takes the shared lock of each event type it writes, so that a
 *   condition on event types alone excludes the plain appends too.
 * A write takes at most `MAX_SHARED_TAG_LOCKS` tag locks one by one; one that needs more takes the
 * whole tag space's lock instead: 10,000 events with a tag each would otherwise take 20,001 locks
 * and run PostgreSQL's lock table out ("out of shared memory") for the whole cluster.
 */
export class StreamsLinksTags1796256000000 implements MigrationInterface {
  name = 'StreamsLinksTags1796256000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = storeSchema(queryRunner);
    await queryRunner.query(`ALTER TABLE ${s}.events ADD COLUMN tags text[]`);
    await queryRunner.query(`
      CREATE TABLE ${s}.event_tags (
        tag text COLLATE "C" NOT NULL,
        transaction_id xid8 NOT NULL,
        global_position bigint NOT NULL,
        event_type text NOT NULL,
        PRIMARY KEY (tag, transaction_id, global_position)
      )`);
    await queryRunner.query(`CREATE INDEX event_tags_position_idx ON ${s}.event_tags (global_position)`);
    await queryRunner.query(`
      CREATE TABLE ${s}.stream_links (
        stream_id text COLLATE "C" NOT NULL,
        stream_version bigint NOT NULL CHECK (stream_version >= 1),
        global_position bigint NOT NULL,
        linked_at timestamptz NOT NULL DEFAULT now(),
        transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
        PRIMARY KEY (stream_id, stream_version),
        CONSTRAINT stream_links_event_key UNIQUE (stream_id, global_position)
      )`);
    await queryRunner.query(`CREATE INDEX stream_links_position_idx ON ${s}.stream_links (global_position)`);
    // A link writes no event: the look for new writes (notifications off or missed) finds links by this.
    await queryRunner.query(`CREATE INDEX stream_links_transaction_idx ON ${s}.stream_links (transaction_id)`);
    await queryRunner.query(
      appendFunction(s, {
        replace: true,
        streamLock: streamLockKeySql(s, 'p_stream_id'),
        typeLocks: typeLocksSql(s, 'p_events'),
        keyedJoins: true,
      }),
    );
    await queryRunner.query(appendToStreamsFunction(s));
    await queryRunner.query(appendTaggedFunction(s));
    await queryRunner.query(appendOneTaggedFunction(s));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = storeSchema(queryRunner);
    await queryRunner.query(
      `DROP FUNCTION ${s}.append_one_tagged(text, bigint, uuid, text, integer, json, json, uuid, uuid, text[], text[], boolean[], text[], text[], bigint, json, json)`,
    );
    await queryRunner.query(`DROP FUNCTION ${s}.append_tagged(text, bigint, json, json)`);
    await queryRunner.query(`DROP FUNCTION ${s}.append_to_streams(json, json, text[], boolean[])`);
    await queryRunner.query(appendFunction(s, { replace: true, streamLock: streamLockKeySql(s, 'p_stream_id') }));
    await queryRunner.query(`DROP TABLE ${s}.stream_links, ${s}.event_tags`);
    await queryRunner.query(`ALTER TABLE ${s}.events DROP COLUMN tags`);
  }
}

/**
 * The keys of the tag locks, `(seed, key)` pairs of the two-integer advisory locks (a space of its
 * own, apart from the stream locks), each with the mode it is needed in:
 * - a writer takes, shared, `type|` for each event, and `|tag` and `type|tag` for each of its tags;
 * - a condition takes, exclusive, for each item: `type|tag₀` for each type, or `|tag₀` without
 *   types, or `type|` without tags, where tag₀ is the item's first tag as given: an event the
 *   item matches carries every tag of the item, tag₀ too, and one of the types, so its writer
 *   takes that key. Which tag does not matter for correctness; the first as given lets the caller
 *   put the most selective one first (a claim of a word in a guild: `word:…` before `guild:…`),
 *   so that claims of other words neither wait nor are looked through.
 * Writers exclude no one but conditions; a condition excludes the writers of what it matches.
 */
function tagLockKeys(entries: string): string {
  const key = (text: string): string => `hashtext(${text})`;
  const events = `json_array_elements(${entries}) AS x(entry), json_to_recordset(x.entry->'events') AS ev(event_type text, tags text[])`;
  const items = `json_to_recordset(p_condition->'items') AS i(event_types text[], tags text[])`;
  const first = `i.tags[1]`;
  return `
      SELECT ${typeLockKeySql('ev.event_type')} AS key, false AS exclusive FROM ${events}
      UNION ALL SELECT ${key(`E'\\x1f' || t`)}, false FROM ${events}, unnest(ev.tags) AS t
      UNION ALL SELECT ${key(`ev.event_type || E'\\x1f' || t`)}, false FROM ${events}, unnest(ev.tags) AS t
      UNION ALL SELECT CASE WHEN i.tags IS NULL THEN ${typeLockKeySql('ty')}
                            WHEN i.event_types IS NULL THEN ${key(`E'\\x1f' || ${first}`)}
                            ELSE ${key(`ty || E'\\x1f' || ${first}`)} END, true
          FROM ${items} LEFT JOIN LATERAL unnest(i.event_types) AS ty ON true`;
}

/**
 * {@link tagLockKeys} as taken: each key once, in its strongest mode, in key order. A write that
 * needs more than `MAX_SHARED_TAG_LOCKS` shared keys takes the whole tag space's key
 * (`TAG_SPACE_KEY`) exclusively instead of them, and a call with a condition takes that key
 * shared, so that a condition waits for such a write, or such a write for the condition.
 */
function tagLocksSql(entries = 'p_entries'): string {
  return `
        WITH k AS (SELECT k.key, bool_or(k.exclusive) AS exclusive FROM (${tagLockKeys(entries)}) AS k GROUP BY k.key),
        plan AS (SELECT count(*) FILTER (WHERE NOT k.exclusive) > ${MAX_SHARED_TAG_LOCKS} AS many,
                        coalesce(bool_or(k.exclusive), false) AS guarded FROM k)
        SELECT a.key, bool_or(a.exclusive) AS exclusive FROM (
          SELECT k.key, k.exclusive FROM k, plan WHERE k.exclusive OR NOT plan.many
          UNION ALL SELECT ${TAG_SPACE_KEY}, plan.many FROM plan WHERE plan.many OR plan.guarded) AS a
         GROUP BY a.key ORDER BY a.key`;
}

/**
 * Events matching the condition after its cursor (`cursorTx`, `v_after`), in `$all` order, the
 * first 100 (each item stops at its first 100, so a failing check reads no more than that):
 * every committed event counts, also those `$all` readers do not see yet. An item with
 * tags is looked up in `event_tags` by its first tag; an item with event types alone walks `$all`
 * from the cursor. Rows `(transaction_id, global_position)`.
 */
function matchingSql(s: string, cursorTx: string): string {
  const after = (alias: string): string => `(${alias}.transaction_id, ${alias}.global_position) > (${cursorTx}, v_after)`;
  return `
          SELECT DISTINCT hit.transaction_id, hit.global_position
            FROM json_to_recordset(p_condition->'items') AS i(event_types text[], tags text[])
            CROSS JOIN LATERAL (
              (SELECT t.transaction_id, t.global_position FROM ${s}.event_tags t
                WHERE i.tags IS NOT NULL
                  AND t.tag = i.tags[1] AND ${after('t')}
                  AND (i.event_types IS NULL OR t.event_type = ANY (i.event_types))
                  AND (cardinality(i.tags) = 1
                       OR EXISTS (SELECT 1 FROM ${s}.events e WHERE e.global_position = t.global_position AND e.tags @> i.tags))
                ORDER BY t.transaction_id, t.global_position LIMIT 100)
              UNION ALL
              (SELECT e.transaction_id, e.global_position FROM ${s}.events e
                WHERE i.tags IS NULL AND ${after('e')} AND e.event_type = ANY (i.event_types)
                ORDER BY e.transaction_id, e.global_position LIMIT 100)
            ) AS hit
           ORDER BY hit.transaction_id, hit.global_position
           LIMIT 100`;
}

/** {@link matchingSql}'s positions into `v_conflicts` (NULL when none). */
function conflictsSql(s: string): string {
  return `
      SELECT array_agg(m.global_position ORDER BY m.transaction_id, m.global_position) INTO v_conflicts
        FROM (${matchingSql(s, 'v_cursor_tx')}) AS m`;
}

/**
 * A condition is checked by a statement that began after its locks were taken, which sees the
 * racers that committed meanwhile only under READ COMMITTED. The store sets it on its connections,
 * but a pooler may drop that setting: refuse to check a condition under anything stricter rather
 * than let racers through (`ESISO`, with the isolation in DETAIL).
 */
function isolationGuard(): string {
  return `
      IF p_condition IS NOT NULL AND current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'append conditions need READ COMMITTED' USING ERRCODE = 'ESISO',
          DETAIL = json_build_object('isolation', current_setting('transaction_isolation'))::text;
      END IF;`;
}

/** Finds the place in `$all` of the condition's cursor `v_after` (NULL: no event's position). */
function cursorSql(s: string): string {
  return `
        IF v_after = 0 THEN
          v_cursor_tx := '0'::xid8;
        ELSE
          SELECT c.transaction_id INTO v_cursor_tx FROM (
            SELECT e.transaction_id FROM ${s}.events e WHERE e.global_position = v_after
            UNION ALL SELECT h.transaction_id FROM ${s}.hard_deleted_positions h WHERE h.global_position = v_after
            LIMIT 1) AS c;
        END IF;`;
}

/**
 * The version check of one entry (`v_entry`) against its stream's row, locked (`FOR UPDATE`), or
 * created for an entry that writes: raises `ESNFD`, `ESDEL` or `ESWEV` naming the stream, and
 * leaves the version in `v_version` otherwise.
 */
function entryCheckSql(
  s: string,
  failure: (code: string, message: string, detail: string) => string,
  detail: (fields: string) => string,
): string {
  return `        LOOP
          SELECT st.version, st.deleted_at IS NOT NULL INTO v_version, v_deleted
            FROM ${s}.streams st WHERE st.stream_id = v_entry.stream_id FOR UPDATE;
          EXIT WHEN FOUND;
          IF v_entry.expected = -2 THEN
            ${failure('ESNFD', 'stream not found', detail(`'streamId', v_entry.stream_id, 'actualVersion', 0`))};
          ELSIF v_entry.expected > 0 THEN
            ${failure('ESWEV', 'wrong expected version', detail(`'streamId', v_entry.stream_id, 'actualVersion', 0`))};
          END IF;
          IF v_entry.events IS NULL AND v_entry.links IS NULL THEN
            v_version := 0;
            v_deleted := false;
            EXIT;
          END IF;
          INSERT INTO ${s}.streams (stream_id) VALUES (v_entry.stream_id) ON CONFLICT (stream_id) DO NOTHING;
        END LOOP;
        IF v_deleted THEN
          ${failure('ESDEL', 'stream deleted', detail(`'streamId', v_entry.stream_id, 'actualVersion', v_version`))};
        ELSIF v_entry.expected = -2 AND v_version = 0 THEN
          ${failure('ESNFD', 'stream not found', detail(`'streamId', v_entry.stream_id, 'actualVersion', 0`))};
        ELSIF v_entry.expected >= 0 AND v_entry.expected <> v_version THEN
          ${failure('ESWEV', 'wrong expected version', detail(`'streamId', v_entry.stream_id, 'actualVersion', v_version`))};
        END IF;`;
}

/**
 * Appends to several streams in one transaction: `p_entries` is a JSON array of
 * `{ stream_id, expected, events, links }` (expected coded as for `append_to_stream`; `events` the
 * records to append, `links` the ids of stored events to link; neither: a check of the version
 * only), `p_condition` `{ items: [{ event_types, tags }], after }` or NULL.
 *
 * Order of work, each step before anything of the next:
 * 1. the stream locks, in key order: appends to one stream take their transaction ids in version
 *    order (as in `append_to_stream`), and two calls over the same streams never wait in a circle;
 * 2. the tag locks ({@link tagLocksSql}), each key once in its strongest mode, in key order;
 * 3. a re-send (some event id already stored, or link made): it succeeds only as a whole, every
 *    entry's events stored at one place of its stream (same content) and every link at one place;
 *    otherwise the first stored id is `ESDUP`. One statement looks whether there is any;
 * 4. every stream at its expected version, checked in one statement that locks their rows; only
 *    if one is not, each is checked in turn to raise `ESNFD`, `ESDEL` or `ESWEV` for the first;
 * 5. the condition, in a statement of its own: under READ COMMITTED each statement of a volatile
 *    function sees what committed before it began, so after step 2 it sees every event of a writer
 *    that held a conflicting lock (a check in the statement that waited for the lock would not):
 *    `ESCND` with the positions;
 * 6. the writes, entry by entry, one statement for an entry of events (stream version, events,
 *    `event_tags` rows), three for links.
 * Nothing before step 6 takes a position, so a call that fails takes none.
 * Failures raise with DETAIL a JSON object naming the stream, so the whole call rolls back.
 */
export function appendToStreamsFunction(s: string): string {
  const seed = tagLockSeed(s);
  const failure = (code: string, message: string, detail: string): string =>
    `RAISE EXCEPTION '${message}' USING ERRCODE = '${code}', DETAIL = ${detail}`;
  const detail = (fields: string): string => `json_build_object(${fields})::text`;
  return `
    CREATE FUNCTION ${s}.append_to_streams(p_entries json, p_condition json, p_locks text[] DEFAULT NULL, p_exclusive boolean[] DEFAULT NULL)
    RETURNS TABLE (entry integer, from_version bigint, to_version bigint, first_position bigint, last_position bigint)
    LANGUAGE plpgsql
    SET enable_seqscan = off${KEYED_JOINS}
    AS $$
    DECLARE
      v_entry record;
      v_version bigint;
      v_deleted boolean;
      v_count bigint;
      v_found bigint;
      v_resent boolean := true;
      v_stored_id text;
      v_stored_stream text;
      v_intact boolean;
      v_base bigint;
      v_base_max bigint;
      v_first text;
      v_after bigint := coalesce((p_condition->>'after')::bigint, 0);
      v_cursor_tx xid8;
      v_conflicts bigint[];
      v_source text;
      v_from bigint;
      v_first_position bigint;
      v_last_position bigint;
      v_ok boolean;
    BEGIN${isolationGuard()}
      PERFORM pg_advisory_xact_lock(l.key)
         FROM (SELECT DISTINCT ${streamLockKeySql(s, 'x.stream_id')} AS key
                 FROM json_to_recordset(p_entries) AS x(stream_id text) ORDER BY 1) AS l;
      -- The caller may have named the tag locks ({@link givenTagLocksSql}); otherwise they are found here.
      IF p_locks IS NULL THEN
        PERFORM CASE WHEN l.exclusive THEN pg_advisory_xact_lock(${seed}, l.key) ELSE pg_advisory_xact_lock_shared(${seed}, l.key) END
           FROM (${tagLocksSql()}) AS l;
      ELSE
        PERFORM ${givenTagLocksSql(s)};
      END IF;

      -- 3. A re-send (every write of the call stored already), or a duplicate: looked into only
      -- when one of the call's ids is stored, or one of its links made, already.
      IF EXISTS (SELECT 1 FROM json_array_elements(p_entries) AS x(entry)
                   CROSS JOIN LATERAL json_to_recordset(x.entry->'events') AS r(event_id uuid)
                   JOIN ${s}.events e ON e.event_id = r.event_id)
         OR EXISTS (SELECT 1 FROM json_array_elements(p_entries) AS x(entry)
                   CROSS JOIN LATERAL json_array_elements_text(x.entry->'links') AS r(event_id)
                   JOIN ${s}.events e ON e.event_id = r.event_id::uuid
                   JOIN ${s}.stream_links l ON l.stream_id = x.entry->>'stream_id' AND l.global_position = e.global_position) THEN
      FOR v_entry IN
        SELECT x.ord::integer AS ord, x.entry->>'stream_id' AS stream_id, (x.entry->>'expected')::bigint AS expected,
               x.entry->'events' AS events, x.entry->'links' AS links
          FROM json_array_elements(p_entries) WITH ORDINALITY AS x(entry, ord) ORDER BY x.ord
      LOOP
        IF v_entry.events IS NOT NULL THEN
          v_count := json_array_length(v_entry.events);
          SELECT count(*),
                 coalesce(bool_and(e.stream_id = v_entry.stream_id AND e.checksum = ${checksumSql({
                   streamId: 'v_entry.stream_id',
                   streamVersion: 'e.stream_version',
                   eventId: 'r.event_id',
                   eventType: 'r.event_type',
                   schemaVersion: 'r.schema_version',
                   data: 'r.data',
                   metadata: 'r.metadata',
                   causationId: 'r.causation_id',
                   correlationId: 'r.correlation_id',
                   tags: 'r.tags',
                 })}), false),
                 min(e.stream_version - r.ord), max(e.stream_version - r.ord),
                 (array_agg(e.event_id::text ORDER BY r.ord))[1]
            INTO v_found, v_intact, v_base, v_base_max, v_first
            FROM ROWS FROM (json_to_recordset(v_entry.events) AS (
                   event_id uuid, event_type text, schema_version integer, data json, metadata json,
                   causation_id uuid, correlation_id uuid, tags text[]))
                 WITH ORDINALITY AS r(event_id, event_type, schema_version, data, metadata,
                                      causation_id, correlation_id, tags, ord)
            JOIN ${s}.events e ON e.event_id = r.event_id;
        ELSIF v_entry.links IS NOT NULL THEN
          v_count := json_array_length(v_entry.links);
          SELECT count(*), true, min(l.stream_version - r.ord), max(l.stream_version - r.ord),
                 (array_agg(r.event_id ORDER BY r.ord))[1]
            INTO v_found, v_intact, v_base, v_base_max, v_first
            FROM json_array_elements_text(v_entry.links) WITH ORDINALITY AS r(event_id, ord)
            JOIN ${s}.events e ON e.event_id = r.event_id::uuid
            JOIN ${s}.stream_links l ON l.stream_id = v_entry.stream_id AND l.global_position = e.global_position;
        ELSE
          CONTINUE;
        END IF;
        IF v_found = 0 THEN
          v_resent := false;
        ELSIF NOT (v_found = v_count AND v_intact AND v_base = v_base_max AND (
                   v_entry.expected = -1 OR (v_entry.expected = -2 AND v_base >= 1) OR v_entry.expected = v_base)) THEN
          ${failure('ESDUP', 'duplicate event', detail(`'streamId', v_entry.stream_id, 'eventId', v_first`))};
        ELSIF v_stored_id IS NULL THEN
          v_stored_id := v_first;
          v_stored_stream := v_entry.stream_id;
        END IF;
      END LOOP;
      IF v_stored_id IS NOT NULL AND NOT v_resent THEN
        -- Part of the call is stored and part is not: not a re-send of it.
        ${failure('ESDUP', 'duplicate event', detail(`'streamId', v_stored_stream, 'eventId', v_stored_id`))};
      END IF;
      IF v_stored_id IS NOT NULL THEN
        RETURN QUERY ${resentResultsSql(s)};
        RETURN;
      END IF;
      END IF;

      -- 4. Every stream at its expected version, all checked (their rows locked) in one statement
      -- before anything is written, so that a call that fails here takes no positions; when one is
      -- not, each is checked in turn, which raises for the first.
      SELECT coalesce(bool_and(CASE
               WHEN st.stream_id IS NULL THEN c.expected IN (-1, 0)
               WHEN st.deleted_at IS NOT NULL THEN false
               WHEN c.expected = -1 THEN true
               WHEN c.expected = -2 THEN st.version > 0
               ELSE st.version = c.expected END), true)
        INTO v_ok
        FROM (SELECT x.entry->>'stream_id' AS stream_id, (x.entry->>'expected')::bigint AS expected
                FROM json_array_elements(p_entries) AS x(entry)) AS c
        LEFT JOIN (SELECT s.stream_id, s.version, s.deleted_at FROM ${s}.streams s
                    WHERE s.stream_id IN (SELECT y.entry->>'stream_id' FROM json_array_elements(p_entries) AS y(entry))
                    ORDER BY s.stream_id FOR UPDATE) AS st ON st.stream_id = c.stream_id;
      IF NOT v_ok THEN
        FOR v_entry IN
        SELECT x.ord::integer AS ord, x.entry->>'stream_id' AS stream_id, (x.entry->>'expected')::bigint AS expected,
               x.entry->'events' AS events, x.entry->'links' AS links
          FROM json_array_elements(p_entries) WITH ORDINALITY AS x(entry, ord) ORDER BY x.ord
        LOOP
${entryCheckSql(s, failure, detail)}
        END LOOP;
        RAISE EXCEPTION 'append_to_streams: a version check failed, and none raised';
      END IF;

      -- 5. The condition, in statements that began after the locks were held, before any write
      -- (a call that fails on it takes no positions either).
      IF p_condition IS NOT NULL THEN
        ${cursorSql(s)}
        IF v_cursor_tx IS NULL THEN
          ${failure('ESCUR', 'unknown cursor', detail(`'after', v_after`))};
        END IF;
        ${conflictsSql(s)};
        IF v_conflicts IS NOT NULL THEN
          ${failure('ESCND', 'append condition failed', detail(`'after', v_after, 'conflictingPositions', v_conflicts`))};
        END IF;
      END IF;

      -- 6. Each entry's write, in order.
      FOR v_entry IN
        SELECT x.ord::integer AS ord, x.entry->>'stream_id' AS stream_id, (x.entry->>'expected')::bigint AS expected,
               x.entry->'events' AS events, x.entry->'links' AS links
          FROM json_array_elements(p_entries) WITH ORDINALITY AS x(entry, ord) ORDER BY x.ord
      LOOP
        IF v_entry.events IS NOT NULL THEN
          v_count := json_array_length(v_entry.events);
          IF v_entry.expected IN (-1, 0) THEN${eventsWriteSql(s, { streamId: 'v_entry.stream_id', expected: 'v_entry.expected', events: 'v_entry.events', count: 'v_count', upsert: true })}
          ELSE${eventsWriteSql(s, { streamId: 'v_entry.stream_id', expected: 'v_entry.expected', events: 'v_entry.events', count: 'v_count', upsert: false })}
          END IF;
          IF v_from IS NULL THEN
            RAISE EXCEPTION 'append_to_streams: the append to % wrote nothing after its check', v_entry.stream_id;
          END IF;
          entry := v_entry.ord;
          from_version := v_from;
          to_version := v_from + v_count - 1;
          first_position := v_first_position;
          last_position := v_last_position;
          RETURN NEXT;
        ELSIF v_entry.links IS NOT NULL THEN
${entryCheckSql(s, failure, detail)}
${linkStatements(s, failure)}
        ELSE
          SELECT coalesce((SELECT st.version FROM ${s}.streams st WHERE st.stream_id = v_entry.stream_id), 0) INTO v_version;
          RETURN QUERY SELECT v_entry.ord, v_version + 1, v_version, NULL::bigint, NULL::bigint;
        END IF;
      END LOOP;
    END $$`;
}

/**
 * Step 6 for an entry with links, in three statements: the linked rows are locked (`FOR KEY SHARE`)
 * so that a hard delete of their stream cannot remove them under the new links; then, seeing what
 * committed meanwhile, an id not stored (or removed by a hard delete that came first) is `ESNEV`,
 * an event of the stream itself `ESOWN`; then the links.
 */
function linkStatements(s: string, failure: (code: string, message: string, detail: string) => string): string {
  const ids = `json_array_elements_text(v_entry.links) WITH ORDINALITY AS r(event_id, ord)`;
  const detail = `json_build_object('streamId', v_entry.stream_id, 'eventId', v_first)::text`;
  return `
          -- In (stream, version) order, the order in which a hard delete locks them: no deadlock.
          PERFORM 1 FROM ${s}.events ev WHERE ev.event_id IN (SELECT r.event_id::uuid FROM ${ids})
           ORDER BY ev.stream_id, ev.stream_version FOR KEY SHARE;
          SELECT r.event_id, ev.stream_id INTO v_first, v_source
            FROM ${ids} LEFT JOIN ${s}.events ev ON ev.event_id = r.event_id::uuid
           WHERE ev.global_position IS NULL OR ev.stream_id = v_entry.stream_id
           ORDER BY r.ord LIMIT 1;
          IF FOUND AND v_source IS NULL THEN
            ${failure('ESNEV', 'event not stored', detail)};
          ELSIF FOUND THEN
            ${failure('ESOWN', 'event of the stream itself', detail)};
          END IF;
          UPDATE ${s}.streams SET version = v_version + json_array_length(v_entry.links), updated_at = now()
           WHERE stream_id = v_entry.stream_id;
          RETURN QUERY
            WITH linked AS (
              INSERT INTO ${s}.stream_links (stream_id, stream_version, global_position)
              SELECT v_entry.stream_id, v_version + r.ord, ev.global_position
                FROM ${ids} JOIN ${s}.events ev ON ev.event_id = r.event_id::uuid
               ORDER BY r.ord
              RETURNING stream_version)
            SELECT v_entry.ord, v_version + 1, max(stream_version), NULL::bigint, NULL::bigint FROM linked;`;
}

/** Step 3's answer for a re-send: what each entry stored the first time. */
function resentResultsSql(s: string): string {
  return `
        SELECT x.ord::integer, coalesce(w.from_version, coalesce(st.version, 0) + 1), coalesce(w.to_version, st.version, 0),
               w.first_position, w.last_position
          FROM json_array_elements(p_entries) WITH ORDINALITY AS x(entry, ord)
          LEFT JOIN ${s}.streams st ON st.stream_id = x.entry->>'stream_id'
          LEFT JOIN LATERAL (
            SELECT min(e.stream_version) AS from_version, max(e.stream_version) AS to_version,
                   min(e.global_position) AS first_position, max(e.global_position) AS last_position
              FROM json_array_elements(x.entry->'events') AS ev(event)
              JOIN ${s}.events e ON e.event_id = (ev.event->>'event_id')::uuid
             WHERE x.entry->'events' IS NOT NULL
            UNION ALL
            SELECT min(l.stream_version), max(l.stream_version), NULL, NULL
              FROM json_array_elements_text(x.entry->'links') AS ln(event_id)
              JOIN ${s}.events e ON e.event_id = ln.event_id::uuid
              JOIN ${s}.stream_links l ON l.stream_id = x.entry->>'stream_id' AND l.global_position = e.global_position
             WHERE x.entry->'links' IS NOT NULL) AS w ON w.from_version IS NOT NULL
         ORDER BY x.ord`;
}

/**
 * The write of one entry's events in one statement: the stream moved on by `count` if it is live
 * and at its `expected` version (`upsert`: created, at `no_stream` or `any`, if missing), the
 * events (checksums, tags) and their `event_tags` rows, only if `free` (an SQL condition, over the
 * CTEs of `prelude`) holds; `v_from`, `v_first_position`, `v_last_position` get the first version and the positions,
 * all NULL when it wrote nothing.
 */
function eventsWriteSql(
  s: string,
  w: { streamId: string; expected: string; events: string; count: string; upsert: boolean; prelude?: string; free?: string },
): string {
  const free = w.free ?? 'true';
  const stream = w.upsert
    ? `
        stream AS (
          INSERT INTO ${s}.streams AS st (stream_id, version) SELECT ${w.streamId}, ${w.count} WHERE ${free}
          ON CONFLICT (stream_id) DO UPDATE SET version = st.version + ${w.count}, updated_at = now()
           WHERE st.deleted_at IS NULL AND (${w.expected} < 0 OR st.version = ${w.expected})
          RETURNING version - ${w.count} AS base)`
    : `
        stream AS (
          UPDATE ${s}.streams SET version = version + ${w.count}, updated_at = now()
           WHERE stream_id = ${w.streamId} AND deleted_at IS NULL AND (${w.expected} < 0 OR version = ${w.expected})
             AND version > 0 AND ${free}
          RETURNING version - ${w.count} AS base)`;
  return `
      WITH ${w.prelude === undefined ? '' : `${w.prelude},`}${stream},
      inserted AS (
        INSERT INTO ${s}.events (stream_id, stream_version, event_id, event_type, schema_version,
                                 data, metadata, causation_id, correlation_id, tags, checksum)
        SELECT ${w.streamId}, stream.base + t.ord, t.event_id, t.event_type, t.schema_version, t.data, t.metadata,
               t.causation_id, t.correlation_id, t.tags,
               ${checksumSql({
                 streamId: w.streamId,
                 streamVersion: 'stream.base + t.ord',
                 eventId: 't.event_id',
                 eventType: 't.event_type',
                 schemaVersion: 't.schema_version',
                 data: 't.data',
                 metadata: 't.metadata',
                 causationId: 't.causation_id',
                 correlationId: 't.correlation_id',
                 tags: 't.tags',
               })}
          FROM stream,
               ROWS FROM (json_to_recordset(${w.events}) AS (
                 event_id uuid, event_type text, schema_version integer, data json, metadata json,
                 causation_id uuid, correlation_id uuid, tags text[]))
               WITH ORDINALITY AS t(event_id, event_type, schema_version, data, metadata,
                                    causation_id, correlation_id, tags, ord)
         ORDER BY t.ord
        RETURNING transaction_id, global_position, stream_version, event_type, tags),
      tagged AS (
        INSERT INTO ${s}.event_tags (tag, transaction_id, global_position, event_type)
        SELECT tag, i.transaction_id, i.global_position, i.event_type FROM inserted i, unnest(i.tags) AS tag)
      SELECT min(stream_version), min(global_position), max(global_position) INTO v_from, v_first_position, v_last_position FROM inserted;`;
}

/**
 * The common tagged or conditional append, to one stream, in two statements where
 * `append_to_streams` takes about ten: the locks (the stream's, then the tags'), then, in a
 * statement that began after them, the condition, whether an id is stored already, and the write
 * (stream version, events, tags) only if neither. Anything else (a condition that matched, an id
 * stored already, an unknown cursor, a deleted stream or another version) writes nothing there and
 * is handed to `append_to_streams`, which re-takes the same locks (a no-op), tells those cases
 * apart in its order (a re-send before the condition) and raises. $1 stream id, $2 expected
 * version code, $3 the events (JSON), $4 the condition (JSON) or NULL; the row of `append_to_streams`.
 */
export function appendTaggedFunction(s: string): string {
  const entries = `json_build_array(json_build_object('events', p_events))`;
  // The write happens only if this holds: nothing matches the condition, and no id is stored.
  const free = `NOT EXISTS (SELECT 1 FROM matching) AND NOT EXISTS (SELECT 1 FROM stored)
           AND (p_condition IS NULL OR (SELECT tx FROM cursor) IS NOT NULL)`;
  const prelude = `
        cursor AS (
          SELECT CASE WHEN v_after = 0 THEN '0'::xid8 ELSE (
                   SELECT c.transaction_id FROM (
                     SELECT e.transaction_id FROM ${s}.events e WHERE e.global_position = v_after
                     UNION ALL SELECT h.transaction_id FROM ${s}.hard_deleted_positions h WHERE h.global_position = v_after
                   ) AS c LIMIT 1) END AS tx),
        matching AS MATERIALIZED (${matchingSql(s, '(SELECT tx FROM cursor)')}),
        stored AS (SELECT 1 FROM json_to_recordset(p_events) AS r(event_id uuid) JOIN ${s}.events e ON e.event_id = r.event_id LIMIT 1)`;
  const write = (upsert: boolean): string =>
    eventsWriteSql(s, { streamId: 'p_stream_id', expected: 'p_expected', events: 'p_events', count: 'v_count', upsert, prelude, free });
  return `
    CREATE FUNCTION ${s}.append_tagged(p_stream_id text, p_expected bigint, p_events json, p_condition json)
    RETURNS TABLE (entry integer, from_version bigint, to_version bigint, first_position bigint, last_position bigint)
    LANGUAGE plpgsql
    SET enable_seqscan = off${KEYED_JOINS}
    AS $$
    DECLARE
      v_count bigint := json_array_length(p_events);
      v_after bigint := coalesce((p_condition->>'after')::bigint, 0);
      v_from bigint;
      v_first_position bigint;
      v_last_position bigint;
    BEGIN${isolationGuard()}
      PERFORM CASE WHEN l.exclusive THEN pg_advisory_xact_lock(${tagLockSeed(s)}, l.key)
                   ELSE pg_advisory_xact_lock_shared(${tagLockSeed(s)}, l.key) END
         FROM (${tagLocksSql(entries)}) AS l
        WHERE (SELECT true FROM pg_advisory_xact_lock(${streamLockKeySql(s, 'p_stream_id')}));
      IF p_expected IN (-1, 0) THEN${write(true)}
      ELSE${write(false)}
      END IF;
      IF v_from IS NULL THEN
        RETURN QUERY SELECT * FROM ${s}.append_to_streams(
          json_build_array(json_build_object('stream_id', p_stream_id, 'expected', p_expected, 'events', p_events)), p_condition);
        RETURN;
      END IF;
      entry := 1;
      from_version := v_from;
      to_version := v_from + v_count - 1;
      first_position := v_first_position;
      last_position := v_last_position;
      RETURN NEXT;
    END $$`;
}

/**
 * Takes the tag locks named by the caller (`p_locks`, `p_exclusive`: see `tagLockNames` in
 * append-to-stream.sql.ts, the rules of {@link tagLockKeys}; a NULL name is the whole tag space's
 * key), each key once in its strongest mode, in key order. The body of a PERFORM.
 */
function givenTagLocksSql(s: string): string {
  return `count(CASE WHEN l.exclusive THEN pg_advisory_xact_lock(${tagLockSeed(s)}, l.key)
                     ELSE pg_advisory_xact_lock_shared(${tagLockSeed(s)}, l.key) END)
         FROM (SELECT coalesce(hashtext(u.name), ${TAG_SPACE_KEY}) AS key, bool_or(u.exclusive) AS exclusive
                 FROM unnest(p_locks, p_exclusive) AS u(name, exclusive) GROUP BY 1 ORDER BY 1) AS l`;
}

/**
 * `append_tagged` for the most common case, one event and at most one condition item, with the
 * event's fields, the item and the tag locks as typed parameters: nothing to unpack from JSON, and
 * two plain statements (measured: the JSON work of the lock statement and of the condition cost
 * more than the locks and the check themselves). The lock names (`p_locks`, `p_exclusive`) are
 * computed by the caller with the rules of {@link tagLockKeys} (a NULL name is the whole tag
 * space's key); anything else than the common outcome goes on to `append_to_streams` with the
 * JSON forms (`p_events`, `p_condition`), which re-takes the same locks.
 */
export function appendOneTaggedFunction(s: string): string {
  const fallback = `
        RETURN QUERY SELECT * FROM ${s}.append_to_streams(
          json_build_array(json_build_object('stream_id', p_stream_id, 'expected', p_expected, 'events', p_events)), p_condition);
        RETURN;`;
  const free = `NOT EXISTS (SELECT 1 FROM ${s}.events e WHERE e.event_id = p_event_id)
           AND NOT EXISTS (
             SELECT 1 FROM ${s}.event_tags t
              WHERE p_condition IS NOT NULL AND p_cond_tags IS NOT NULL AND t.tag = p_cond_tags[1]
                AND (t.transaction_id, t.global_position) > (v_cursor_tx, p_after)
                AND (p_cond_types IS NULL OR t.event_type = ANY (p_cond_types))
                AND (cardinality(p_cond_tags) = 1
                     OR EXISTS (SELECT 1 FROM ${s}.events e WHERE e.global_position = t.global_position AND e.tags @> p_cond_tags)))
           AND NOT EXISTS (
             SELECT 1 FROM ${s}.events e
              WHERE p_condition IS NOT NULL AND p_cond_tags IS NULL
                AND (e.transaction_id, e.global_position) > (v_cursor_tx, p_after) AND e.event_type = ANY (p_cond_types))`;
  const stream = (upsert: boolean): string =>
    upsert
      ? `
          INSERT INTO ${s}.streams AS st (stream_id, version) SELECT p_stream_id, 1 WHERE ${free}
          ON CONFLICT (stream_id) DO UPDATE SET version = st.version + 1, updated_at = now()
           WHERE st.deleted_at IS NULL AND (p_expected < 0 OR st.version = p_expected)
          RETURNING version`
      : `
          UPDATE ${s}.streams SET version = version + 1, updated_at = now()
           WHERE stream_id = p_stream_id AND deleted_at IS NULL AND (p_expected < 0 OR version = p_expected)
             AND version > 0 AND ${free}
          RETURNING version`;
  const write = (upsert: boolean): string => `
      WITH stream AS (${stream(upsert)}),
      inserted AS (
        INSERT INTO ${s}.events (stream_id, stream_version, event_id, event_type, schema_version,
                                 data, metadata, causation_id, correlation_id, tags, checksum)
        SELECT p_stream_id, stream.version, p_event_id, p_type, p_schema, p_data, p_metadata, p_causation, p_correlation, p_tags,
               ${checksumSql({
                 streamId: 'p_stream_id',
                 streamVersion: 'stream.version',
                 eventId: 'p_event_id',
                 eventType: 'p_type',
                 schemaVersion: 'p_schema',
                 data: 'p_data',
                 metadata: 'p_metadata',
                 causationId: 'p_causation',
                 correlationId: 'p_correlation',
                 tags: 'p_tags',
               })}
          FROM stream
        RETURNING transaction_id, global_position, stream_version),
      tagged AS (
        INSERT INTO ${s}.event_tags (tag, transaction_id, global_position, event_type)
        SELECT tag, i.transaction_id, i.global_position, p_type FROM inserted i, unnest(p_tags) AS tag)
      SELECT stream_version, global_position INTO v_from, v_position FROM inserted;`;
  return `
    CREATE FUNCTION ${s}.append_one_tagged(
      p_stream_id text, p_expected bigint, p_event_id uuid, p_type text, p_schema integer, p_data json, p_metadata json,
      p_causation uuid, p_correlation uuid, p_tags text[], p_locks text[], p_exclusive boolean[],
      p_cond_types text[], p_cond_tags text[], p_after bigint, p_events json, p_condition json)
    RETURNS TABLE (entry integer, from_version bigint, to_version bigint, first_position bigint, last_position bigint)
    LANGUAGE plpgsql
    SET enable_seqscan = off${KEYED_JOINS}
    AS $$
    DECLARE
      v_cursor_tx xid8 := '0'::xid8;
      v_from bigint;
      v_position bigint;
    BEGIN${isolationGuard()}
      PERFORM ${givenTagLocksSql(s)}
        WHERE (SELECT true FROM pg_advisory_xact_lock(${streamLockKeySql(s, 'p_stream_id')}));
      IF p_after <> 0 THEN
        SELECT c.transaction_id INTO v_cursor_tx FROM (
          SELECT e.transaction_id FROM ${s}.events e WHERE e.global_position = p_after
          UNION ALL SELECT h.transaction_id FROM ${s}.hard_deleted_positions h WHERE h.global_position = p_after
          LIMIT 1) AS c;
        IF v_cursor_tx IS NULL THEN${fallback}
        END IF;
      END IF;
      IF p_expected IN (-1, 0) THEN${write(true)}
      ELSE${write(false)}
      END IF;
      IF v_from IS NULL THEN${fallback}
      END IF;
      entry := 1;
      from_version := v_from;
      to_version := v_from;
      first_position := v_position;
      last_position := v_position;
      RETURN NEXT;
    END $$`;
}
