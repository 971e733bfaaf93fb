import type { EventStore, OperationProgress, RecordedEvent } from '@game-bot/event-store';
import { createTestEventStore, type TestEventStore } from '@game-bot/event-store/testing';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { eventually } from '../../../test/helpers/eventually.js';
import { dumpToolsFit, PostgresCluster, postgresBinDir } from '../../../test/helpers/postgres-cluster.js';
import { testConnection, withClient } from '../../../test/helpers/test-database.js';
import { createTestStore, someEvents, type TestStore } from '../../../test/helpers/test-store.js';

const run = promisify(execFile);

/**
 * The backup and restore of docs/operations.md: `pg_dump -n SCHEMA -Fc` of a store on the shared
 * server, `pg_restore` into a cluster of the test's own (initdb), younger than the source (its
 * transaction counter far below the ids stored with the events), then `restamp`.
 */
// pg_dump cannot dump a server newer than itself (the embedded one): there, this file is skipped.
const dumpable = await dumpToolsFit(testConnection());

(dumpable ? describe : describe.skip)('backup and restore of a store into another cluster', () => {
  let cluster: PostgresCluster;
  let dir: string;

  beforeAll(async () => {
    cluster = await PostgresCluster.start();
    dir = await mkdtemp(join(tmpdir(), 'event-store-backup-'));
    await makeSharedServerOlderThan(100_000n);
  });
  afterAll(async () => {
    await cluster?.destroy();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  /** `pg_dump` of the store's schema from the shared server (custom format), as docs/operations.md says. */
  async function dump(schema: string): Promise<string> {
    const file = join(dir, `${schema}.dump`);
    const { host, port, user, password, database } = testConnection();
    const args = ['-h', host, '-p', String(port), '-U', user!, '-d', database!, '-n', schema, '-Fc', '-f', file];
    await run(join(postgresBinDir(), 'pg_dump'), args, { env: { ...process.env, PGPASSWORD: password } });
    return file;
  }

  /** A new database of a cluster of the test's own, and `pg_restore` of `file` into it, as docs/operations.md says. */
  async function restore(file: string, into: PostgresCluster, database: string): Promise<void> {
    await withClient(into.connection, (client) => client.query(`CREATE DATABASE ${database}`));
    const args = ['-h', '127.0.0.1', '-p', String(into.port), '-U', 'postgres', '-d', database, file];
    await run(join(postgresBinDir(), 'pg_restore'), args);
  }

  /** The restored store, booted as a service would boot it (migrations checked, not run). */
  async function bootRestored(into: PostgresCluster, database: string, schema: string): Promise<{ target: TestEventStore; sql: pg.Pool }> {
    const connection = { ...into.connection, database };
    const target = await createTestEventStore({ store: { connection, schema, migrations: 'check' } });
    return { target, sql: new pg.Pool({ ...connection, max: 2 }) };
  }

  describe('a store of concurrent writers, with tags, links, a hard delete and a subscription checkpoint', () => {
    let source: TestStore;
    let target: TestEventStore;
    let targetSql: pg.Pool;
    let sourceAll: RecordedEvent[];
    let walked: { rows: number; groups: number; deleted: number; tags: number; links: number };
    let seam: { before: string; after: string };
    let deletedCursor: number;
    let afterDeleted: string[];
    const subscription = 'restored-sub';

    beforeAll(async () => {
      source = await createTestStore({}, 'backup');
      const s = source.store;
      await s.appendToStream('game-1', 'no_stream', [
        { eventType: 'Started', data: { n: 1 }, tags: ['player:1'] },
        { eventType: 'Guessed', data: { n: 2 }, tags: ['player:1', 'word:crane'] },
        { eventType: 'Won', data: { n: 3 } },
      ]);
      const [, guessed] = await s.readStreamForward('game-1');
      await s.linkToStream('highlights', 'any', [guessed!.eventId]);
      await s.appendToStream('doomed', 'no_stream', someEvents(2));
      deletedCursor = (await s.readStreamForward('doomed'))[1]!.globalPosition;
      await s.appendToStream('after-doomed', 'no_stream', someEvents(1));
      await s.deleteStream('doomed', 'any', { mode: 'hard' });

      seam = await checkpointAtASeam(source, subscription);
      for (let i = 0; i < 3; i++) await reorder(s, `pair-${i}`);
      await s.appendToStreams([
        { streamId: 'multi-1', expectedVersion: 'no_stream', events: someEvents(2) },
        { streamId: 'multi-2', expectedVersion: 'no_stream', events: someEvents(2) },
      ]);
      await source.allVisible();
      sourceAll = (await s.readAllForward({ maxCount: 10_000 })).events;
      afterDeleted = (await s.readAllForward({ fromPosition: deletedCursor, maxCount: 3 })).events.map((e) => e.eventId);
      walked = await walkOf(source.sql, source.schema);

      const file = await dump(source.schema);
      await restore(file, cluster, 'restored');
      ({ target, sql: targetSql } = await bootRestored(cluster, 'restored', source.schema));
    });
    afterAll(async () => {
      await target?.close();
      await targetSql?.end();
      await source?.close();
    });

    it('the source really is out of position order in $all, and older than the cluster it is restored into', async () => {
      const positions = sourceAll.map((e) => e.globalPosition);
      expect(positions).not.toEqual([...positions].sort((a, b) => a - b));
      expect(walked.groups).toBeGreaterThanOrEqual(5);
      const [{ oldest }] = (await source.sql.query(`SELECT min(transaction_id)::text AS oldest FROM "${source.schema}".events`)).rows;
      expect(BigInt(oldest)).toBeGreaterThan((await counterOf(targetSql)).xmax);
    });

    it('before restamp, $all of the restored store shows none of its events; stream reads do', async () => {
      expect((await target.store.readAllForward({ maxCount: 10_000 })).events).toEqual([]);
      expect(await target.store.readStreamForward('game-1')).toHaveLength(3);
    });

    it('restamp refuses while another session writes to the store, and changes nothing', async () => {
      await withClient({ ...cluster.connection, database: 'restored' }, async (writer) => {
        await writer.query(`BEGIN; LOCK TABLE "${source.schema}".events IN ROW EXCLUSIVE MODE`);
        await expect(target.store.restamp({ lockTimeoutMs: 500 })).rejects.toMatchObject({
          code: 'TIMEOUT',
          message: expect.stringMatching(
            /to itself, and other sessions write to it: pid \d+ .*RowExclusiveLock on events.*Stop every service/,
          ),
        });
        await writer.query('ROLLBACK');
      });
      expect((await target.store.readAllForward({ maxCount: 10_000 })).events).toEqual([]);
    });

    it('restamp stopped by its signal during the rewrite rolls it back: nothing changed', async () => {
      const controller = new AbortController();
      const stopped = await target.store.restamp({
        batchSize: 4,
        signal: controller.signal,
        // Past the counting walk (rows), into the rewrite's pages.
        onProgress: ({ done }) => done > walked.rows + 4 && controller.abort(),
      });
      expect(stopped).toMatchObject({
        groups: walked.groups,
        restamped: { events: 0, hardDeletedPositions: 0, eventTags: 0, streamLinks: 0 },
        interrupted: true,
      });
      expect((await target.store.readAllForward({ maxCount: 10_000 })).events).toEqual([]);
      const [{ small }] = (
        await targetSql.query(`SELECT count(*)::int AS small FROM "${source.schema}".events WHERE transaction_id < '1000'`)
      ).rows;
      expect(small).toBe(0);
    });

    it('after restamp, $all shows every event at once, in exactly the order of the source', async () => {
      const progress: OperationProgress[] = [];
      const result = await target.store.restamp({ batchSize: 4, onProgress: (p) => progress.push(p) });
      expect(result).toEqual({
        rows: walked.rows,
        groups: walked.groups,
        restamped: {
          events: sourceAll.length,
          hardDeletedPositions: walked.deleted,
          eventTags: walked.tags,
          streamLinks: walked.links,
        },
        transactionIdsAdvanced: 0,
        interrupted: false,
      });
      expect(progress.at(-1)).toEqual({ done: 2 * walked.rows, total: 2 * walked.rows });
      // No wait for visibility: the new ids are below the cluster's xmin from the commit on.
      const restored = (await target.store.readAllForward({ maxCount: 10_000 })).events;
      expect(restored.map(placeOf)).toEqual(sourceAll.map(placeOf));
      const ids = await targetSql.query(`SELECT DISTINCT transaction_id::text AS id FROM "${source.schema}".events ORDER BY 1`);
      expect(ids.rows.map((row) => Number(row.id)).sort((a, b) => a - b)).toEqual(range(3, walked.groups + 2));
    });

    it('a second restamp changes nothing', async () => {
      const again = await target.store.restamp();
      expect(again).toEqual({
        rows: walked.rows,
        groups: walked.groups,
        restamped: { events: 0, hardDeletedPositions: 0, eventTags: 0, streamLinks: 0 },
        transactionIdsAdvanced: 0,
        interrupted: false,
      });
      expect((await target.store.readAllForward({ maxCount: 10_000 })).events.map(placeOf)).toEqual(sourceAll.map(placeOf));
    });

    it('keeps every row but its transaction id, tags and links with their events, and the immutability trigger on', async () => {
      const rows = (sql: pg.Pool) =>
        sql.query(`SELECT global_position, (to_jsonb(e) - 'transaction_id')::text AS row FROM "${source.schema}".events e ORDER BY 1`);
      expect((await rows(targetSql)).rows).toEqual((await rows(source.sql)).rows);
      const s = `"${source.schema}"`;
      const [check] = (
        await targetSql.query(`
          SELECT (SELECT count(*) FROM ${s}.event_tags t JOIN ${s}.events e USING (global_position)
                   WHERE t.transaction_id <> e.transaction_id)::int AS tags_apart,
                 (SELECT count(*) FROM ${s}.event_tags)::int AS tags,
                 (SELECT count(*) FROM ${s}.stream_links WHERE transaction_id >= pg_snapshot_xmin(pg_current_snapshot()))::int AS links_hidden,
                 (SELECT count(*) FROM ${s}.hard_deleted_positions WHERE transaction_id::text::bigint > ${walked.groups + 2})::int AS deleted_apart,
                 (SELECT tgenabled FROM pg_trigger WHERE tgrelid = '${s}.events'::regclass AND tgname = 'events_immutable') AS trigger`)
      ).rows;
      expect(check).toEqual({ tags_apart: 0, tags: walked.tags, links_hidden: 0, deleted_apart: 0, trigger: 'O' });
      await expect(
        targetSql.query(`UPDATE ${s}.events SET transaction_id = '3' WHERE global_position = ${sourceAll[0]!.globalPosition}`),
      ).rejects.toThrow(/immutable/);
      const [highlight] = await target.store.readStreamForward('highlights');
      expect(highlight).toMatchObject({ streamId: 'game-1', streamVersion: 2, link: { streamId: 'highlights', streamVersion: 1 } });
    });

    it('a cursor at a hard-deleted event still continues right after it', async () => {
      const next = (await target.store.readAllForward({ fromPosition: deletedCursor, maxCount: 3 })).events.map((e) => e.eventId);
      expect(next).toEqual(afterDeleted);
    });

    it('the subscription resumes after its checkpoint, with no skip and no repeat, then sees new appends after the restored events', async () => {
      const [{ checkpoint }] = (
        await targetSql.query(`SELECT checkpoint::int FROM "${source.schema}".subscriptions WHERE name = $1`, [subscription])
      ).rows;
      const resumeAt = sourceAll.findIndex((e) => e.eventId === seam.before);
      expect(checkpoint).toBe(sourceAll[resumeAt]!.globalPosition);
      const expected = sourceAll.slice(resumeAt + 1).map((e) => e.eventId);
      // The first event after the checkpoint lies below it in position: "after this event", not "above this number".
      expect(expected[0]).toBe(seam.after);
      expect(sourceAll[resumeAt + 1]!.globalPosition).toBeLessThan(checkpoint);

      const delivered: RecordedEvent[] = [];
      const running = target.store.subscribeToAll(subscription, (event) => void delivered.push(event));
      try {
        await eventually(() => delivered.length >= expected.length, 30_000);
        await sleep(300);
        expect(delivered.map((e) => e.eventId)).toEqual(expected);

        const appended = await target.store.appendToStream('after-restore', 'no_stream', someEvents(2));
        const fresh = (await target.store.readAllForward({ fromPosition: sourceAll.at(-1)!.globalPosition })).events;
        expect(fresh.map((e) => e.globalPosition)).toEqual([appended.firstPosition, appended.lastPosition]);
        expect(appended.firstPosition).toBeGreaterThan(Math.max(...sourceAll.map((e) => e.globalPosition)));
        await eventually(() => delivered.length === expected.length + 2, 10_000);
        expect(delivered.slice(-2).map((e) => e.streamId)).toEqual(['after-restore', 'after-restore']);
      } finally {
        await target.store.unsubscribe(running);
      }
    });

    it('verify passes on the restored store', async () => {
      expect(await target.store.verify()).toMatchObject({ checked: sourceAll.length + 2, corrupted: [], interrupted: false });
    });

    it('refuses a schema with a transaction-id column it does not know, rather than leave it behind', async () => {
      const s = `"${source.schema}"`;
      await targetSql.query(`CREATE TABLE ${s}.unknown_marks (transaction_id xid8 NOT NULL)`);
      try {
        await expect(target.store.restamp()).rejects.toThrow(/xid8\) column\(s\) restamp does not know: unknown_marks\.transaction_id/);
      } finally {
        await targetSql.query(`DROP TABLE ${s}.unknown_marks`);
      }
    });
  });

  it('restamp in place, page by page: $all order kept, and each link gets the id of the events of its own transaction', async () => {
    const t = await createTestStore({}, 'restamp_pages');
    try {
      await reorder(t.store, 'before');
      await t.store.appendToStream('three', 'no_stream', someEvents(3));
      await reorder(t.store, 'after');
      const s = `"${t.schema}"`;
      // No public call writes events and links in one transaction: links are written by hand here,
      // with the transaction ids of the events of streams before-a, before-b (the next group: a
      // link must not take the id of the group before its transaction's) and three (three rows,
      // so three pages of one row each).
      await t.sql.query(
        `INSERT INTO ${s}.stream_links (stream_id, stream_version, global_position, transaction_id)
         SELECT 'linked-by-hand', row_number() OVER (ORDER BY stream_id), min(global_position), transaction_id
           FROM ${s}.events WHERE stream_id IN ('before-a', 'before-b', 'three') GROUP BY stream_id, transaction_id`,
      );
      await t.allVisible();
      const before = (await t.store.readAllForward()).events.map(placeOf);
      const walked = await walkOf(t.sql, t.schema);
      expect(walked.groups).toBe(3);

      const result = await t.store.restamp({ batchSize: 1 });
      expect(result).toMatchObject({ rows: 7, groups: 3, restamped: { events: 7, streamLinks: 3 }, interrupted: false });
      expect((await t.store.readAllForward()).events.map(placeOf)).toEqual(before);
      const { rows } = await t.sql.query(
        `SELECT e.stream_id, l.transaction_id::text AS link, e.transaction_id::text AS event
           FROM ${s}.stream_links l JOIN ${s}.events e ON e.global_position = l.global_position ORDER BY e.stream_id`,
      );
      expect(rows).toEqual([
        { stream_id: 'before-a', link: '3', event: '3' },
        { stream_id: 'before-b', link: '4', event: '4' },
        { stream_id: 'three', link: '4', event: '4' },
      ]);
      expect((await t.store.restamp({ batchSize: 2 })).restamped).toEqual({
        events: 0,
        hardDeletedPositions: 0,
        eventTags: 0,
        streamLinks: 0,
      });
    } finally {
      await t.close();
    }
  });

  it('moves the transaction counter of a young cluster on when the store needs more ids than it has given', async () => {
    const young = await PostgresCluster.start();
    const source = await createTestStore({}, 'backup_many');
    let target: TestEventStore | undefined;
    let targetSql: pg.Pool | undefined;
    try {
      // More groups than the young cluster will have given ids once restored into (the restore
      // and the boot take a few hundred at most): a new group per pair of crossed appends.
      const needed = Number((await withClient(young.connection, (client) => counterOf(client))).xmax) + 300;
      await crossedPairs(source, needed);
      await source.allVisible();
      const sourceAll = (await source.store.readAllForward({ maxCount: 10_000 })).events;
      const walked = await walkOf(source.sql, source.schema);
      await restore(await dump(source.schema), young, 'restored');
      ({ target, sql: targetSql } = await bootRestored(young, 'restored', source.schema));
      const { xmax } = await counterOf(targetSql);
      expect(BigInt(walked.groups + 2)).toBeGreaterThanOrEqual(xmax);

      const timeline: Array<{ at: number; done: number }> = [];
      const result = await target.store.restamp({ onProgress: ({ done }) => timeline.push({ at: performance.now(), done }) });
      expect(result).toMatchObject({ rows: walked.rows, groups: walked.groups, interrupted: false });
      // Its own counting walk took an id or two after xmax was read here.
      expect(result.transactionIdsAdvanced).toBeGreaterThan(0);
      expect(result.transactionIdsAdvanced).toBeLessThanOrEqual(Number(BigInt(walked.groups + 3) - xmax));
      expect((await counterOf(targetSql)).xmin).toBeGreaterThan(BigInt(walked.groups + 2));
      reportAdvanceRate(timeline, walked.rows, result.transactionIdsAdvanced);

      expect((await target.store.readAllForward({ maxCount: 10_000 })).events.map(placeOf)).toEqual(sourceAll.map(placeOf));
      const appended = await target.store.appendToStream('after-restore', 'no_stream', someEvents(1));
      const fresh = (await target.store.readAllForward({ fromPosition: sourceAll.at(-1)!.globalPosition })).events;
      expect(fresh.map((e) => e.globalPosition)).toEqual([appended.firstPosition]);
      expect(await target.store.verify()).toMatchObject({ checked: sourceAll.length + 1, corrupted: [] });
      expect((await target.store.restamp()).transactionIdsAdvanced).toBe(0);
    } finally {
      await target?.close();
      await targetSql?.end();
      await source.close();
      await young.destroy();
    }
  });
});

/** Crossed pairs, four writers at a time, until `$all` of the store has at least `groups` groups. */
async function crossedPairs(t: TestStore, groups: number): Promise<void> {
  let n = 0;
  while ((await walkOf(t.sql, t.schema)).groups < groups) {
    await Promise.all(
      Array.from({ length: 4 }, async (_, writer) => {
        for (let i = 0; i < 50; i++) await reorder(t.store, `w${writer}-${n++}`);
      }),
    );
  }
}

/** An event's place as a reader sees it. */
function placeOf(event: RecordedEvent): [string, number] {
  return [event.eventId, event.globalPosition];
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

async function counterOf(sql: pg.Pool | pg.Client): Promise<{ xmin: bigint; xmax: bigint }> {
  const { rows } = await sql.query(
    'SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin, pg_snapshot_xmax(pg_current_snapshot())::text AS xmax',
  );
  return { xmin: BigInt(rows[0].xmin), xmax: BigInt(rows[0].xmax) };
}

/**
 * The source cluster must be older than the one restored into: a test server started moments ago
 * could have given fewer ids than `initdb` and a restore do. Empty transactions move it on (once).
 */
async function makeSharedServerOlderThan(xid: bigint): Promise<void> {
  await withClient(testConnection(), async (client) => {
    const missing = xid - (await counterOf(client)).xmax;
    if (missing > 0n) await client.query(`DO $$ BEGIN FOR i IN 1..${missing} LOOP PERFORM pg_current_xact_id(); COMMIT; END LOOP; END $$`);
  });
}

/**
 * The rows of `$all` (events and hard-deleted positions) in its order, counted the plain way: a
 * group per stretch of increasing positions; and the tags and links, which restamp rewrites too.
 */
async function walkOf(
  sql: pg.Pool,
  schema: string,
): Promise<{ rows: number; groups: number; deleted: number; tags: number; links: number }> {
  const s = `"${schema}"`;
  const { rows } = await sql.query<{ p: string }>(`
    SELECT global_position::text AS p FROM (
      SELECT transaction_id, global_position FROM ${s}.events
      UNION ALL SELECT transaction_id, global_position FROM ${s}.hard_deleted_positions) r
     ORDER BY transaction_id, global_position`);
  const positions = rows.map((row) => Number(row.p));
  const descents = positions.filter((p, i) => i > 0 && p < positions[i - 1]!).length;
  const [counts] = (
    await sql.query(`SELECT (SELECT count(*) FROM ${s}.hard_deleted_positions)::int AS deleted,
                            (SELECT count(*) FROM ${s}.event_tags)::int AS tags, (SELECT count(*) FROM ${s}.stream_links)::int AS links`)
  ).rows;
  return { rows: positions.length, groups: positions.length === 0 ? 0 : descents + 1, ...counts };
}

/**
 * Two appends that commit out of position order: the first transaction takes its id, a second
 * appends (a lower position, a higher id) and commits, then the first appends and commits. In
 * `$all` (by transaction id) the first comes first, with the higher position.
 */
async function reorder(store: EventStore, label: string): Promise<void> {
  let hasId!: () => void;
  const idTaken = new Promise<void>((resolve) => (hasId = resolve));
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const first = store.transaction(async (tx) => {
    await tx.query('SELECT pg_current_xact_id()');
    hasId();
    await released;
    await tx.appendToStream(`${label}-a`, 'no_stream', someEvents(1));
  });
  await idTaken;
  await store.appendToStream(`${label}-b`, 'no_stream', someEvents(1));
  release();
  await first;
}

/**
 * A persistent subscription whose checkpoint falls where `$all` and positions disagree: a
 * transaction takes its id; a second appends at a lower position and stays open; the first appends
 * and commits. `$all` readers then see the first's event and not yet the second's (its id is not
 * below their xmin); the subscription handles it, and stops there (its checkpoint). The second then
 * commits, and its event comes next in `$all`, below the checkpoint in position.
 */
async function checkpointAtASeam(t: TestStore, name: string): Promise<{ before: string; after: string }> {
  const before = randomUUID();
  const after = randomUUID();
  let firstHasId!: () => void;
  const idTaken = new Promise<void>((resolve) => (firstHasId = resolve));
  let releaseFirst!: () => void;
  const firstReleased = new Promise<void>((resolve) => (releaseFirst = resolve));
  let secondAppended!: () => void;
  const appended = new Promise<void>((resolve) => (secondAppended = resolve));
  let releaseSecond!: () => void;
  const secondReleased = new Promise<void>((resolve) => (releaseSecond = resolve));

  const first = t.store.transaction(async (tx) => {
    await tx.query('SELECT pg_current_xact_id()');
    firstHasId();
    await firstReleased;
    await tx.appendToStream('seam-first', 'no_stream', [{ eventId: before, eventType: 'Seam', data: { n: 1 } }]);
  });
  await idTaken;
  const second = t.store.transaction(async (tx) => {
    await tx.appendToStream('seam-second', 'no_stream', [{ eventId: after, eventType: 'Seam', data: { n: 2 } }]);
    secondAppended();
    await secondReleased;
  });
  await appended;
  releaseFirst();
  await first;

  const seen: string[] = [];
  const running = t.store.subscribeToAll(name, (event) => void seen.push(event.eventId));
  await eventually(() => seen.includes(before), 30_000);
  await t.store.unsubscribe(running);
  expect(seen).not.toContain(after);
  releaseSecond();
  await second;
  return { before, after };
}

/** The rate of the counter's advance, from the progress told (rows counted, then ids consumed, then rows rewritten). */
function reportAdvanceRate(timeline: Array<{ at: number; done: number }>, rows: number, advanced: number): void {
  const start = timeline.findLast((point) => point.done <= rows)!;
  const end = timeline.find((point) => point.done >= rows + advanced)!;
  const seconds = (end.at - start.at) / 1000;
  console.log(`restamp consumed ${advanced} transaction ids in ${seconds.toFixed(3)} s (${Math.round(advanced / seconds)} ids/s)`);
}
