import type pg from 'pg';
import { ExpectedVersion, type EventData, type EventStore, type RecordedEvent } from '@game-bot/event-store';
import type { Operation } from './harness.js';
import { benchEvents, PAGE_SIZE } from './scenarios.js';
import { toRecordedEvent, type RawTaggedRow } from './targets.js';

/** Streams of one multi-stream append. */
export const MULTI_STREAMS = 3;

/**
 * One writer's unit of work, two ways: one `appendToStreams` of 1 event to each of its
 * {@link MULTI_STREAMS} streams, or one `appendToStream` of 1 event to each of the same streams,
 * one after another. Both count as {@link MULTI_STREAMS} events, so ops/s is units per second.
 */
export interface MultiStreamOperations {
  multi: Operation;
  singles: Operation;
  /** Creates every writer's streams, so that the measurement appends to existing streams only. */
  prepare(writers: number): Promise<void>;
}

/** The operations of the multi-stream scenario, writer `w` on streams `<prefix>-<w>-0` ... (at `any`). */
export function multiStreamAppends(store: EventStore, prefix: string): MultiStreamOperations {
  let sequence = 0;
  const streams = (worker: number): string[] => Array.from({ length: MULTI_STREAMS }, (_, i) => `${prefix}-${worker}-${i}`);
  const event = (worker: number): EventData => benchEvents(1, worker, (sequence += 1))[0]!;
  return {
    multi: async (worker) => {
      const entries = streams(worker).map((streamId) => ({ streamId, expectedVersion: ExpectedVersion.Any, events: [event(worker)] }));
      await store.appendToStreams(entries);
      return MULTI_STREAMS;
    },
    singles: async (worker) => {
      for (const streamId of streams(worker)) {
        await store.appendToStream(streamId, ExpectedVersion.Any, [event(worker)]);
      }
      return MULTI_STREAMS;
    },
    prepare: async (writers) => {
      for (let worker = 0; worker < writers; worker++) {
        for (const streamId of streams(worker)) {
          await store.appendToStream(streamId, ExpectedVersion.Any, [event(worker)]);
        }
      }
    },
  };
}

/** The tag that 1 event in {@link TAG_EVERY} carries in the seeded schema. */
export const SEEDED_TAG = 'bench:tagged';
/** Every how many events one carries {@link SEEDED_TAG}. */
export const TAG_EVERY = 100;
/** Events per seeding append. */
const SEED_BATCH = 1_000;
/** Concurrent seeding writers, each on a stream of its own. */
const SEED_WRITERS = 2;

/** How the tagged schema was seeded. */
export interface SeedResult {
  events: number;
  tagged: number;
  seconds: number;
  /** Events per append. */
  batch: number;
  writers: number;
  /** 1 event in `every` is tagged. */
  every: number;
}

/**
 * Appends `count` events through the library, {@link SEED_BATCH} per append from
 * {@link SEED_WRITERS} writers, every {@link TAG_EVERY}th of them tagged {@link SEEDED_TAG}.
 * `progress` hears of every tenth of the way (events written, seconds since the start).
 */
export async function seedTaggedEvents(
  store: EventStore,
  count: number,
  progress: (written: number, seconds: number) => void,
): Promise<SeedResult> {
  const started = performance.now();
  const batches = Math.ceil(count / SEED_BATCH);
  let next = 0;
  let done = 0;
  let tagged = 0;
  const step = Math.max(1, Math.round(batches / 10));
  await Promise.all(
    Array.from({ length: SEED_WRITERS }, async (_, writer) => {
      for (let batch = next++; batch < batches; batch = next++) {
        const from = batch * SEED_BATCH;
        const events: EventData[] = benchEvents(Math.min(SEED_BATCH, count - from), writer, from).map((event, index) =>
          (from + index) % TAG_EVERY === 0 ? { ...event, tags: [SEEDED_TAG] } : event,
        );
        tagged += events.filter((event) => event.tags !== undefined).length;
        await store.appendToStream(`tagged-seed-${writer}`, ExpectedVersion.Any, events);
        if (++done % step === 0 && done < batches) progress(Math.min(count, done * SEED_BATCH), (performance.now() - started) / 1000);
      }
    }),
  );
  return {
    events: count,
    tagged,
    seconds: (performance.now() - started) / 1000,
    batch: SEED_BATCH,
    writers: SEED_WRITERS,
    every: TAG_EVERY,
  };
}

/** A reader of the events carrying one tag, page by page in `$all` order: through the store or raw SQL. */
export interface TagReader {
  readonly name: 'store' | 'raw';
  /** The next page of the events carrying `tag` after `cursor`, and the cursor after it (`null`: the end). */
  page(tag: string, cursor: TagCursor | null): Promise<{ events: RecordedEvent[]; next: TagCursor | null }>;
}

/** Where a tag read stands: the last event's global position (the store's cursor) and, for raw SQL, its transaction id. */
export interface TagCursor {
  position: number;
  transactionId?: string;
}

/** The store's tag-filtered `$all` read (`filter.tags`), {@link PAGE_SIZE} per page. */
export function storeTagReader(store: EventStore): TagReader {
  return {
    name: 'store',
    page: async (tag, cursor) => {
      const { events } = await store.readAllForward({ fromPosition: cursor?.position ?? 0, maxCount: PAGE_SIZE, filter: { tags: [tag] } });
      const last = events.at(-1);
      return { events, next: events.length < PAGE_SIZE || last === undefined ? null : { position: last.globalPosition } };
    },
  };
}

/** A row of the raw tag read as node-postgres returns it. */

/**
 * The same index read in plain SQL on the store's tables: `event_tags` by tag in `$all` order,
 * joined to `events`, paging by the (transaction id, position) of the last row, no checks.
 */
export function rawTagReader(pool: pg.Pool, schema: string): TagReader {
  const s = `"${schema}"`;
  const text = `
    SELECT t.transaction_id, e.global_position, e.stream_id, e.stream_version, e.event_id, e.event_type, e.schema_version,
           e.data, e.metadata, e.causation_id, e.correlation_id, e.created_at, e.tags
      FROM ${s}.event_tags t JOIN ${s}.events e ON e.global_position = t.global_position
     WHERE t.tag = $1 AND (t.transaction_id, t.global_position) > ($2::xid8, $3::bigint)
     ORDER BY t.transaction_id, t.global_position LIMIT $4`;
  return {
    name: 'raw',
    page: async (tag, cursor) => {
      const values = [tag, cursor?.transactionId ?? '0', cursor?.position ?? 0, PAGE_SIZE];
      const { rows } = await pool.query<RawTaggedRow>({ name: `raw_read_tagged_${schema}`, text, values });
      const last = rows.at(-1);
      const next =
        rows.length < PAGE_SIZE || last === undefined
          ? null
          : { position: Number(last.global_position), transactionId: last.transaction_id };
      return { events: rows.map(toRecordedEvent), next };
    },
  };
}

/** Pages through the events carrying `tag`, each loop with its own cursor, back to the start after the last page. */
export function readTaggedPages(reader: TagReader, tag: string): Operation {
  const cursors = new Map<number, TagCursor | null>();
  return async (worker) => {
    const { events, next } = await reader.page(tag, cursors.get(worker) ?? null);
    cursors.set(worker, next);
    return events.length;
  };
}

/** One pass over a whole read, one reader. */
export interface PassResult {
  /** Events read. */
  events: number;
  /** Of them, events carrying the tag. */
  tagged: number;
  pages: number;
  seconds: number;
}

/** Every event carrying `tag`, page by page, once. */
export async function tagPass(reader: TagReader, tag: string): Promise<PassResult> {
  const started = performance.now();
  let cursor: TagCursor | null = null;
  let events = 0;
  let pages = 0;
  do {
    const page: Awaited<ReturnType<TagReader['page']>> = await reader.page(tag, cursor);
    events += page.events.length;
    pages++;
    cursor = page.next;
  } while (cursor !== null);
  return { events, tagged: events, pages, seconds: (performance.now() - started) / 1000 };
}

/** All of `$all` without a filter, {@link PAGE_SIZE} per page, counting the events that carry `tag`. */
export async function unfilteredPass(store: EventStore, tag: string): Promise<PassResult> {
  const started = performance.now();
  let fromPosition = 0;
  let events = 0;
  let tagged = 0;
  let pages = 0;
  for (;;) {
    const page = await store.readAllForward({ fromPosition, maxCount: PAGE_SIZE });
    pages++;
    events += page.events.length;
    tagged += page.events.filter((event) => event.tags?.includes(tag)).length;
    const last = page.events.at(-1);
    if (page.events.length < PAGE_SIZE || last === undefined) break;
    fromPosition = last.globalPosition;
  }
  return { events, tagged, pages, seconds: (performance.now() - started) / 1000 };
}
