import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { ExpectedVersion, type EventData, type EventStore, type JsonObject, type RecordedEvent } from '@game-bot/event-store';
import { TypedGuessProcessed } from './bench-events.js';

/** The operations a scenario times, implemented by the store and by plain SQL alike. */
export interface BenchTarget {
  readonly name: 'store' | 'raw' | 'typed' | 'conditional';
  /** Appends to a stream that only this caller writes to; resolves to the number of events appended. */
  append(streamId: string, events: EventData[]): Promise<number>;
  /** Up to `maxCount` events of a stream, from `fromVersion` (inclusive) upwards. */
  readStream(streamId: string, fromVersion: number, maxCount: number): Promise<RecordedEvent[]>;
  /** Up to `maxCount` events of `$all` after the event at `fromPosition` (0: from the start). */
  readAll(fromPosition: number, maxCount: number): Promise<RecordedEvent[]>;
}

/** The event store, through its public API. */
export class StoreTarget implements BenchTarget {
  readonly name = 'store';

  constructor(private readonly store: EventStore) {}

  async append(streamId: string, events: EventData[]): Promise<number> {
    await this.store.appendToStream(streamId, ExpectedVersion.Any, events);
    return events.length;
  }

  readStream(streamId: string, fromVersion: number, maxCount: number): Promise<RecordedEvent[]> {
    return this.store.readStreamForward(streamId, { fromVersion, maxCount });
  }

  async readAll(fromPosition: number, maxCount: number): Promise<RecordedEvent[]> {
    return (await this.store.readAllForward({ fromPosition, maxCount })).events;
  }
}

/**
 * The event store with typed events: appends instances of a registered class (validated, then
 * serialised) and reads them back as instances. Compared with {@link StoreTarget} on plain JSON.
 */
export class TypedStoreTarget implements BenchTarget {
  readonly name = 'typed';

  constructor(private readonly store: EventStore) {}

  async append(streamId: string, events: EventData[]): Promise<number> {
    const typed = events.map(({ data, metadata }) => ({ data: Object.assign(new TypedGuessProcessed(), data), metadata }));
    await this.store.appendToStream(streamId, ExpectedVersion.Any, typed);
    return events.length;
  }

  readStream(streamId: string, fromVersion: number, maxCount: number): Promise<RecordedEvent[]> {
    return this.store.readStreamForward(streamId, { fromVersion, maxCount });
  }

  async readAll(fromPosition: number, maxCount: number): Promise<RecordedEvent[]> {
    return (await this.store.readAllForward({ fromPosition, maxCount })).events;
  }
}

/**
 * The event store's conditional appends: every append's events carry two tags of its own,
 * `player:<n>` and `day:<n>` (n counts the appends of this target), and the append carries the
 * condition "fail if an event of this type with both tags exists", which no event matches: what a
 * guard such as "one daily answer per player" costs when it lets the write through. Compared with
 * {@link StoreTarget}'s plain appends (no tags, no condition).
 */
export class ConditionalStoreTarget implements BenchTarget {
  readonly name = 'conditional';
  private appends = 0;

  constructor(private readonly store: EventStore) {}

  async append(streamId: string, events: EventData[]): Promise<number> {
    const n = ++this.appends;
    const tags = [`player:${n}`, `day:${n}`];
    const eventTypes = [...new Set(events.map((event) => event.eventType))];
    await this.store.appendToStream(
      streamId,
      ExpectedVersion.Any,
      events.map((event) => ({ ...event, tags })),
      { condition: { failIfEventsMatch: [{ eventTypes, tags }] } },
    );
    return events.length;
  }

  readStream(streamId: string, fromVersion: number, maxCount: number): Promise<RecordedEvent[]> {
    return this.store.readStreamForward(streamId, { fromVersion, maxCount });
  }

  async readAll(fromPosition: number, maxCount: number): Promise<RecordedEvent[]> {
    return (await this.store.readAllForward({ fromPosition, maxCount })).events;
  }
}

/** A row of `raw_events` as node-postgres returns it (bigint as text, jsonb parsed). */
export interface RawRow {
  global_position: string;
  stream_id: string;
  stream_version: string;
  event_id: string;
  event_type: string;
  schema_version: number;
  data: JsonObject;
  metadata: JsonObject;
  created_at: Date;
}

/** A raw row with the columns only some baselines select. */
export interface RawTaggedRow extends RawRow {
  transaction_id: string;
  causation_id: string | null;
  correlation_id: string | null;
  tags: string[] | null;
}

/**
 * The baseline: plain parameterised SQL on a table shaped like the store's events table, one
 * autocommit statement per operation. Each stream has one writer, whose next version is kept here.
 */
export class RawTarget implements BenchTarget {
  readonly name = 'raw';
  private readonly versions = new Map<string, number>();
  private readonly sql: ReturnType<typeof rawStatements>;

  constructor(
    private readonly pool: pg.Pool,
    schema: string,
  ) {
    this.sql = rawStatements(`"${schema}"`);
  }

  async append(streamId: string, events: EventData[]): Promise<number> {
    const version = this.versions.get(streamId) ?? 0;
    if (events.length === 1) {
      await this.pool.query({ name: 'raw_insert_one', text: this.sql.insertOne, values: oneRow(streamId, version, events[0]!) });
    } else {
      await this.pool.query({ name: 'raw_insert_many', text: this.sql.insertMany, values: manyRows(streamId, version, events) });
    }
    this.versions.set(streamId, version + events.length);
    return events.length;
  }

  async readStream(streamId: string, fromVersion: number, maxCount: number): Promise<RecordedEvent[]> {
    const values = [streamId, fromVersion, maxCount];
    const { rows } = await this.pool.query<RawRow>({ name: 'raw_read_stream', text: this.sql.readStream, values });
    return rows.map(toRecordedEvent);
  }

  async readAll(fromPosition: number, maxCount: number): Promise<RecordedEvent[]> {
    const values = [fromPosition, maxCount];
    const { rows } = await this.pool.query<RawRow>({ name: 'raw_read_all', text: this.sql.readAll, values });
    return rows.map(toRecordedEvent);
  }
}

/** Creates `schema` and its `raw_events` table, shaped like the store's events table. */
export async function createRawTable(pool: pg.Pool, schema: string): Promise<void> {
  await pool.query(`CREATE SCHEMA "${schema}"`);
  await pool.query(`
    CREATE TABLE "${schema}".raw_events (
      global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      stream_id text COLLATE "C" NOT NULL,
      stream_version bigint NOT NULL,
      event_id uuid NOT NULL UNIQUE,
      event_type text NOT NULL,
      schema_version int NOT NULL,
      data jsonb NOT NULL,
      metadata jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (stream_id, stream_version)
    )`);
}

const COLUMNS = 'global_position, stream_id, stream_version, event_id, event_type, schema_version, data, metadata, created_at';

function rawStatements(s: string) {
  return {
    insertOne: `
      INSERT INTO ${s}.raw_events (stream_id, stream_version, event_id, event_type, schema_version, data, metadata)
      VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    insertMany: `
      INSERT INTO ${s}.raw_events (stream_id, stream_version, event_id, event_type, schema_version, data, metadata)
      SELECT $1, $2::bigint + t.ord, t.event_id, t.event_type, t.schema_version, t.data, t.metadata
        FROM unnest($3::uuid[], $4::text[], $5::int[], $6::jsonb[], $7::jsonb[])
             WITH ORDINALITY AS t(event_id, event_type, schema_version, data, metadata, ord)`,
    readStream: `
      SELECT ${COLUMNS} FROM ${s}.raw_events
       WHERE stream_id = $1 AND stream_version >= $2 ORDER BY stream_version LIMIT $3`,
    readAll: `
      SELECT ${COLUMNS} FROM ${s}.raw_events
       WHERE global_position > $1 ORDER BY global_position LIMIT $2`,
  };
}

function oneRow(streamId: string, version: number, event: EventData): unknown[] {
  return [
    streamId,
    version + 1,
    randomUUID(),
    event.eventType,
    event.schemaVersion ?? 1,
    JSON.stringify(event.data),
    JSON.stringify(event.metadata ?? {}),
  ];
}

function manyRows(streamId: string, version: number, events: EventData[]): unknown[] {
  return [
    streamId,
    version,
    events.map(() => randomUUID()),
    events.map((event) => event.eventType),
    events.map((event) => event.schemaVersion ?? 1),
    events.map((event) => JSON.stringify(event.data)),
    events.map((event) => JSON.stringify(event.metadata ?? {})),
  ];
}

/**
 * A raw row in the shape the store returns, so both sides do the same conversions. Causation,
 * correlation and tags are read only by baselines that select them.
 */
export function toRecordedEvent(row: RawRow & Partial<Pick<RawTaggedRow, 'causation_id' | 'correlation_id' | 'tags'>>): RecordedEvent {
  return {
    globalPosition: Number(row.global_position),
    streamId: row.stream_id,
    streamVersion: Number(row.stream_version),
    eventId: row.event_id,
    eventType: row.event_type,
    schemaVersion: row.schema_version,
    data: row.data,
    metadata: row.metadata,
    causationId: row.causation_id ?? null,
    correlationId: row.correlation_id ?? null,
    createdAt: row.created_at,
    ...(row.tags === null || row.tags === undefined ? {} : { tags: row.tags }),
  };
}
