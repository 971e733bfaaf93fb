import { Inject, Injectable } from '@nestjs/common';
import { DuplicateEventError } from '../errors/duplicate-event.error.js';
import { InvalidArgumentError } from '../errors/invalid-argument.error.js';
import { StreamDeletedError } from '../errors/stream-deleted.error.js';
import { StreamNotFoundError } from '../errors/stream-not-found.error.js';
import { WrongExpectedVersionError } from '../errors/wrong-expected-version.error.js';
import { toRecordedEvent } from './sql/recorded-event.mapper.js';
import type { AppendResult, StreamAppendResult } from '../types/append-result.js';
import type { RecordedEvent } from '../types/event-data.js';
import type { NewEventRecord } from '../validation/event-data.validation.js';
import type { DatabaseSession } from './database-executor.js';
import { EventStoreDatabase } from './event-store-database.js';
import type { QueryConfig } from 'pg';
import {
  appendOneToLiveStreamSql,
  appendOneToNewStreamSql,
  appendToLiveStreamSql,
  appendToStreamSql,
  appendOneTaggedSql,
  appendTaggedSql,
  tagLockNames,
  appendToStreamsSql,
  type AppendRow,
} from './sql/append-to-stream.sql.js';
import { AppendConditionFailedError } from '../errors/append-condition-failed.error.js';
import { StoreUnavailableError } from '../errors/store-unavailable.error.js';
import type { ConditionRecord } from '../validation/tags.validation.js';
import type { EventRow } from './sql/event-row.js';
import {
  readAllBackwardFromEndSql,
  readAllBackwardSql,
  readAllFilteredSql,
  readAllTaggedSql,
  readAllForwardSql,
  type ReadAllFilteredRow,
} from './sql/read-all.sql.js';
import { readEventSql, readStreamBackwardSql, readStreamForwardSql, type ReadStreamRow } from './sql/read-stream.sql.js';

/** A page of a stream read, with the stream's version at the time of the read. */
export interface StreamPage {
  events: RecordedEvent[];
  streamVersion: number;
}

/** Parameters of an $all read, already validated. */
export interface AllQuery {
  direction: 'forward' | 'backward';
  /** `undefined` reads backward from the end. */
  fromPosition: number | undefined;
  limit: number;
  eventTypes: string[] | null;
  streamPattern: string | null;
  /** With a filter: most events scanned past the cursor (at least `limit`). */
  scanLimit: number;
  /** Only streams of one partition, or `null`. */
  partition: { count: number; index: number } | null;
  /** Only events carrying all of these tags, or `null`: read from the tag index. */
  tags: string[] | null;
}

/** A page of $all, and with a filter how far the read scanned. */
export interface AllPage {
  events: RecordedEvent[];
  /** Filtered reads: position of the last event scanned (matching or not); `null` if none was. */
  scannedTo?: number | null;
  /** Filtered reads: how many events were scanned. */
  scanned?: number;
}

const UNIQUE_VIOLATION = '23505';

/** One entry of {@link EventsRepository.appendToStreams}, validated. */
export interface StreamWrite {
  streamId: string;
  /** `expectedVersionCode` of the expected version. */
  expected: number;
  /** The expected version as the caller wrote it, for errors. */
  expectedLabel: string | number;
  /** Events to append, or ids of stored events to link; neither: only the version is checked. */
  events?: NewEventRecord[];
  links?: string[];
}

/** A row of `append_to_streams`: one per entry. */
interface StreamWriteRow {
  entry: number;
  from_version: string;
  to_version: string;
  first_position: string | null;
  last_position: string | null;
}

/** Appends and reads of events: hand-written SQL, one round trip each. */
@Injectable()
export class EventsRepository {
  private readonly sql: ReturnType<typeof statements>;
  private readonly allStatements = new Map<string, string>();

  constructor(@Inject(EventStoreDatabase) private readonly database: EventStoreDatabase) {
    this.sql = statements(database.schema);
  }

  /**
   * Appends atomically; `expected` is the code of `expectedVersionCode`. Appends to a live stream
   * take one statement; a new stream, a conflict or a re-send takes the full function after it.
   */
  async append(
    streamId: string,
    expected: number,
    expectedLabel: string | number,
    events: NewEventRecord[],
    timeoutMs?: number,
    condition: ConditionRecord | null = null,
  ): Promise<AppendResult> {
    if (condition !== null || events.some((event) => event.tags !== null)) {
      return this.appendTagged({ streamId, expected, expectedLabel, events }, condition, timeoutMs);
    }
    const payload = JSON.stringify(events);
    // One deadline for the whole append, both of its steps included.
    const deadline = this.database.executor.deadline(timeoutMs);
    try {
      const done = await this.appendInOneStatement(streamId, expected, events, payload, deadline);
      return toAppendResult(streamId, done ?? (await this.appendWithChecks(streamId, expected, payload, deadline)));
    } catch (error) {
      throw appendFailure(error, streamId, expectedLabel);
    }
  }

  /**
   * The one-statement appends: to a live stream (any version check but `no_stream`), and the
   * first event of a new stream (`no_stream`, or `any` when there was no live stream); `undefined`
   * when neither applies or neither stored anything.
   */
  private async appendInOneStatement(
    streamId: string,
    expected: number,
    events: NewEventRecord[],
    payload: string,
    deadline: number,
  ): Promise<AppendRow | undefined> {
    if (expected !== 0) {
      const live = await this.appendToLiveStream(streamId, expected, events, payload, deadline);
      if (live !== undefined || expected !== -1) return live;
    }
    const [event] = events;
    return events.length === 1 && event !== undefined ? this.appendToNewStream(streamId, event, deadline) : undefined;
  }

  /** {@link appendOneToNewStreamSql}: `undefined` when the stream row exists, or on an id stored before. */
  private appendToNewStream(streamId: string, event: NewEventRecord, deadline: number): Promise<AppendRow | undefined> {
    const values = [streamId, ...eventFields(event)];
    return this.oneStatement({ name: 'es_append_one_new', text: this.sql.appendOneToNew, values }, deadline);
  }

  /**
   * A one-statement append: its row, or `undefined` when it stored nothing (no row, or NULLs) or
   * an event id was stored before (a re-send or a duplicate: the full append tells which).
   */
  private async oneStatement(statement: QueryConfig, deadline: number): Promise<AppendRow | undefined> {
    try {
      const [row] = await this.database.executor.query<AppendRow>(statement, { idempotent: true, deadline });
      return row === undefined || row.from_version === null ? undefined : row;
    } catch (error) {
      if (isStoredEventId(error)) return undefined;
      throw error;
    }
  }

  private appendToLiveStream(
    streamId: string,
    expected: number,
    events: NewEventRecord[],
    payload: string,
    deadline: number,
  ): Promise<AppendRow | undefined> {
    return this.oneStatement(this.liveStatement(streamId, expected, events, payload), deadline);
  }

  /** The one-statement append: fields as parameters for one event, the JSON array for more. */
  private liveStatement(streamId: string, expected: number, events: NewEventRecord[], payload: string): QueryConfig {
    const [event] = events;
    if (events.length > 1 || event === undefined) {
      return { name: 'es_append_live', text: this.sql.appendToLive, values: [streamId, expected, payload, events.length] };
    }
    // The same JSON text as inside `payload`, so a fallback to the full append checksums alike.
    return { name: 'es_append_one_live', text: this.sql.appendOneToLive, values: [streamId, expected, ...eventFields(event)] };
  }

  private async appendWithChecks(streamId: string, expected: number, payload: string, deadline: number): Promise<AppendRow> {
    const [row] = await this.database.executor.query<AppendRow>(
      { name: 'es_append', text: this.sql.append, values: [streamId, expected, payload] },
      { idempotent: true, deadline },
    );
    return row!;
  }

  /**
   * Writes to several streams in one transaction (`append_to_streams`): each entry's events or
   * links, each stream checked against its expected version, all under the condition if there is
   * one. One result per entry, in the order given.
   */
  async appendToStreams(writes: StreamWrite[], condition: ConditionRecord | null, timeoutMs?: number): Promise<StreamAppendResult[]> {
    try {
      const rows = await this.database.executor.query<StreamWriteRow>(this.streamsStatement(writes, condition), {
        idempotent: true,
        deadline: this.database.executor.deadline(timeoutMs),
      });
      return rows.map((row) => toStreamResult(writes[row.entry - 1]!.streamId, row));
    } catch (error) {
      throw streamsFailure(error, writes);
    }
  }

  /**
   * An append with tags or a condition (`append_tagged`): its tag locks, its condition and its
   * index rows, in three statements; the unusual cases go on to `append_to_streams` in the same call.
   */
  private async appendTagged(write: StreamWrite & { events: NewEventRecord[] }, condition: ConditionRecord | null, timeoutMs?: number) {
    try {
      const [row] = await this.database.executor.query<StreamWriteRow>(this.taggedAppendStatement(write, condition), {
        idempotent: true,
        deadline: this.database.executor.deadline(timeoutMs),
      });
      return toStreamResult(write.streamId, row!) as AppendResult;
    } catch (error) {
      throw streamsFailure(error, [write]);
    }
  }

  private streamsStatement(writes: StreamWrite[], condition: ConditionRecord | null): QueryConfig {
    // An absent key reads as SQL NULL in `append_to_streams`; a JSON null would not.
    const entries = writes.map((write) => ({
      stream_id: write.streamId,
      expected: write.expected,
      events: write.events,
      links: write.links,
    }));
    const locks = tagLockNames(
      writes.flatMap((write) => write.events ?? []),
      condition?.items ?? [],
    );
    return {
      name: 'es_append_streams',
      text: this.sql.appendToStreams,
      values: [JSON.stringify(entries), condition && JSON.stringify(condition), locks.names, locks.exclusive],
    };
  }

  private taggedAppendStatement(write: StreamWrite & { events: NewEventRecord[] }, condition: ConditionRecord | null): QueryConfig {
    const [event] = write.events;
    if (write.events.length === 1 && event !== undefined && (condition === null || condition.items.length === 1)) {
      return this.oneTaggedStatement(write, event, condition);
    }
    const values = [write.streamId, write.expected, JSON.stringify(write.events), condition && JSON.stringify(condition)];
    return { name: 'es_append_tagged', text: this.sql.appendTagged, values };
  }

  /** The one-event form: the event's fields, the condition's item and the lock names as parameters. */
  private oneTaggedStatement(write: StreamWrite, event: NewEventRecord, condition: ConditionRecord | null): QueryConfig {
    const item = condition?.items[0] ?? null;
    const locks = tagLockNames([event], item === null ? [] : [item]);
    const values = [
      write.streamId,
      write.expected,
      event.event_id,
      event.event_type,
      event.schema_version,
      JSON.stringify(event.data),
      JSON.stringify(event.metadata),
      event.causation_id,
      event.correlation_id,
      event.tags,
      locks.names,
      locks.exclusive,
      item?.event_types ?? null,
      item?.tags ?? null,
      condition?.after ?? 0,
      JSON.stringify([event]),
      condition && JSON.stringify(condition),
    ];
    return { name: 'es_append_one_tagged', text: this.sql.appendOneTagged, values };
  }

  /**
   * {@link append} on `session`, a transaction of the caller's (`store.transaction`): the same
   * errors, the full function only. A failed statement ends the caller's transaction, and the
   * one-statement append fails on a re-send that the full function accepts.
   */
  async appendOn(
    session: DatabaseSession,
    write: StreamWrite & { events: NewEventRecord[] },
    condition: ConditionRecord | null,
  ): Promise<AppendResult> {
    if (condition !== null || write.events.some((event) => event.tags !== null)) {
      const { rows } = await session.query<StreamWriteRow>(this.taggedAppendStatement(write, condition)).catch((error: unknown) => {
        throw streamsFailure(error, [write]);
      });
      return toStreamResult(write.streamId, rows[0]!) as AppendResult;
    }
    const statement = { name: 'es_append', text: this.sql.append, values: [write.streamId, write.expected, JSON.stringify(write.events)] };
    const { rows } = await session.query<AppendRow>(statement).catch((error: unknown) => {
      throw appendFailure(error, write.streamId, write.expectedLabel);
    });
    return toAppendResult(write.streamId, rows[0]!);
  }

  /** {@link appendToStreams} on `session`, a transaction of the caller's: the same errors. */
  async appendToStreamsOn(
    session: DatabaseSession,
    writes: StreamWrite[],
    condition: ConditionRecord | null,
  ): Promise<StreamAppendResult[]> {
    const { rows } = await session.query<StreamWriteRow>(this.streamsStatement(writes, condition)).catch((error: unknown) => {
      throw streamsFailure(error, writes);
    });
    return rows.map((row) => toStreamResult(writes[row.entry - 1]!.streamId, row));
  }

  /** A page of one stream; throws `STREAM_NOT_FOUND` or `STREAM_DELETED`. */
  async readStream(
    streamId: string,
    direction: 'forward' | 'backward',
    fromVersion: number | undefined,
    limit: number,
  ): Promise<StreamPage> {
    const forward = direction === 'forward';
    const rows = await this.database.executor.query<ReadStreamRow>(
      {
        name: forward ? 'es_read_stream_forward' : 'es_read_stream_backward',
        text: forward ? this.sql.readStreamForward : this.sql.readStreamBackward,
        values: [streamId, forward ? (fromVersion ?? 1) : (fromVersion ?? null), limit],
      },
      { idempotent: true, readOnly: true },
    );
    const first = rows[0];
    if (first === undefined || Number(first.stream_version_now) === 0) {
      throw new StreamNotFoundError(streamId);
    }
    if (first.stream_deleted) {
      throw new StreamDeletedError(streamId);
    }
    return { events: eventsOf(rows), streamVersion: Number(first.stream_version_now) };
  }

  /** One event by id, or `undefined` (never stored, or hard-deleted); with its link into `viaStream` if it has one. */
  async readEvent(eventId: string, viaStream?: string): Promise<RecordedEvent | undefined> {
    const rows = await this.database.executor.query<EventRow>(
      { name: 'es_read_event', text: readEventSql(this.database.schema), values: [eventId, viaStream ?? null] },
      { idempotent: true, readOnly: true },
    );
    return rows[0] && toRecordedEvent(rows[0]);
  }

  /** A page of $all; refuses a cursor that is no event's position. */
  async readAll(query: AllQuery): Promise<AllPage> {
    if (query.tags !== null) {
      return this.readAllTagged(query);
    }
    const filtered = query.eventTypes !== null || query.streamPattern !== null || query.partition !== null;
    const fromEnd = query.fromPosition === undefined;
    const rows = await this.database.executor.query<ReadAllFilteredRow>(
      {
        name: `es_read_all_${query.direction}${fromEnd ? '_end' : ''}${filtered ? '_filtered' : ''}`,
        text: this.allStatement(query.direction, fromEnd, filtered),
        values: [
          query.fromPosition ?? null,
          query.eventTypes,
          query.streamPattern,
          query.limit,
          ...(filtered ? [query.scanLimit, query.partition?.count ?? null, query.partition?.index ?? null] : []),
        ],
      },
      { idempotent: true, readOnly: true },
    );
    if (rows[0]?.cursor_found === false) {
      throw unknownCursor(query.fromPosition);
    }
    if (!filtered) {
      return { events: eventsOf(rows) };
    }
    const scannedTo = rows[0]?.scanned_to ?? null;
    return { events: eventsOf(rows), scannedTo: scannedTo === null ? null : Number(scannedTo), scanned: rows[0]?.scanned ?? 0 };
  }

  private async readAllTagged(query: AllQuery): Promise<AllPage> {
    const fromEnd = query.fromPosition === undefined;
    const rows = await this.database.executor.query<ReadAllFilteredRow>(
      {
        name: `es_read_all_${query.direction}${fromEnd ? '_end' : ''}_tagged`,
        text: this.taggedStatement(query.direction, fromEnd),
        values: [
          query.fromPosition ?? null,
          query.eventTypes,
          query.streamPattern,
          query.limit,
          query.tags,
          query.partition?.count ?? null,
          query.partition?.index ?? null,
        ],
      },
      { idempotent: true, readOnly: true },
    );
    if (rows[0]?.cursor_found === false) {
      throw unknownCursor(query.fromPosition);
    }
    return { events: eventsOf(rows) };
  }

  private taggedStatement(direction: 'forward' | 'backward', fromEnd: boolean): string {
    const key = `${direction}/${fromEnd}/tagged`;
    let text = this.allStatements.get(key);
    if (text === undefined) {
      text = readAllTaggedSql(this.database.schema, direction, fromEnd);
      this.allStatements.set(key, text);
    }
    return text;
  }

  private allStatement(direction: 'forward' | 'backward', fromEnd: boolean, filtered: boolean): string {
    const key = `${direction}/${fromEnd}/${filtered}`;
    let text = this.allStatements.get(key);
    if (text === undefined) {
      text = filtered
        ? readAllFilteredSql(this.database.schema, direction, fromEnd)
        : direction === 'forward'
          ? this.sql.readAllForward
          : fromEnd
            ? this.sql.readAllBackwardFromEnd
            : this.sql.readAllBackward;
      this.allStatements.set(key, text);
    }
    return text;
  }
}

function statements(schema: string) {
  return {
    append: appendToStreamSql(schema),
    appendToLive: appendToLiveStreamSql(schema),
    appendOneToLive: appendOneToLiveStreamSql(schema),
    appendOneToNew: appendOneToNewStreamSql(schema),
    appendToStreams: appendToStreamsSql(schema),
    appendTagged: appendTaggedSql(schema),
    appendOneTagged: appendOneTaggedSql(schema),
    readStreamForward: readStreamForwardSql(schema),
    readStreamBackward: readStreamBackwardSql(schema),
    readAllForward: readAllForwardSql(schema),
    readAllBackward: readAllBackwardSql(schema),
    readAllBackwardFromEnd: readAllBackwardFromEndSql(schema),
  };
}

function toAppendResult(streamId: string, row: AppendRow): AppendResult {
  return {
    streamId,
    fromVersion: Number(row.from_version),
    toVersion: Number(row.to_version),
    firstPosition: Number(row.first_position),
    lastPosition: Number(row.last_position),
  };
}

function unknownCursor(fromPosition: number | undefined): InvalidArgumentError {
  return new InvalidArgumentError(
    `fromPosition ${fromPosition} is not the position of an event of this store: pass 0, or the globalPosition of an event read before`,
    { fromPosition },
  );
}

function toStreamResult(streamId: string, row: StreamWriteRow): StreamAppendResult {
  return {
    streamId,
    fromVersion: Number(row.from_version),
    toVersion: Number(row.to_version),
    firstPosition: row.first_position === null ? null : Number(row.first_position),
    lastPosition: row.last_position === null ? null : Number(row.last_position),
  };
}

/** Maps the SQLSTATEs `append_to_streams` raises (DETAIL a JSON object) to the store's errors. */
function streamsFailure(error: unknown, writes: StreamWrite[]): unknown {
  const { code, detail } = (error ?? {}) as { code?: string; detail?: string };
  if (code === undefined || !code.startsWith('ES')) {
    return isStoredEventId(error) ? concurrentDuplicate(error, detail, writes) : error;
  }
  const facts = JSON.parse(detail ?? '{}') as {
    streamId: string;
    actualVersion?: number;
    eventId?: string | null;
    after?: number;
    conflictingPositions?: number[];
  };
  const write = writes.find((candidate) => candidate.streamId === facts.streamId);
  switch (code) {
    case 'ESWEV':
      return new WrongExpectedVersionError(facts.streamId, write?.expectedLabel ?? 'unknown', facts.actualVersion ?? 0);
    case 'ESNFD':
      return new StreamNotFoundError(facts.streamId);
    case 'ESDEL':
      return new StreamDeletedError(facts.streamId);
    case 'ESDUP':
      return new DuplicateEventError(facts.eventId ?? 'unknown', facts.streamId, error);
    case 'ESCND':
      return new AppendConditionFailedError(facts.conflictingPositions ?? [], facts.after ?? 0);
    case 'ESCUR':
      return new InvalidArgumentError(
        `condition.after ${facts.after} is not the position of an event of this store: pass 0, or the globalPosition of an event read before`,
        { 'condition.after': facts.after },
      );
    case 'ESNEV':
      return new InvalidArgumentError(`Event ${facts.eventId} is not stored (or was hard-deleted): only stored events can be linked`, {
        streamId: facts.streamId,
        eventId: facts.eventId,
      });
    case 'ESISO':
      return new StoreUnavailableError(
        `Append conditions need READ COMMITTED, and this connection runs at ${(facts as { isolation?: string }).isolation}: set default_transaction_isolation to 'read committed' for the store's database or role (a pooler may drop the setting the store sends), then retry`,
        error,
      );
    case 'ESOWN':
      return new InvalidArgumentError(
        `Event ${facts.eventId} is an event of stream '${facts.streamId}' itself: it cannot be linked there`,
        {
          streamId: facts.streamId,
          eventId: facts.eventId,
        },
      );
  }
  return error;
}

/**
 * A concurrent call stored one of the ids first (the unique key refused it): the error names the
 * stream of the entry that holds the id, not merely the call's first, so the caller finds it.
 */
function concurrentDuplicate(error: unknown, detail: string | undefined, writes: StreamWrite[]): DuplicateEventError {
  const eventId = duplicateId(detail);
  const write = writes.find((candidate) => candidate.events?.some((event) => event.event_id === eventId)) ?? writes[0]!;
  return new DuplicateEventError(eventId, write.streamId, error);
}

/**
 * One event's fields as the one-statement appends take them (id, type, schema version, data,
 * metadata, causation, correlation): the same JSON text as inside the whole append's payload, so
 * a fallback to the full append checksums alike.
 */
function eventFields(event: NewEventRecord): unknown[] {
  return [
    event.event_id,
    event.event_type,
    event.schema_version,
    JSON.stringify(event.data),
    JSON.stringify(event.metadata),
    event.causation_id,
    event.correlation_id,
  ];
}

function isStoredEventId(error: unknown): boolean {
  const { code, constraint } = (error ?? {}) as { code?: string; constraint?: string };
  return code === UNIQUE_VIOLATION && constraint === 'events_event_id_key';
}

function eventsOf(rows: Array<{ global_position: string | null }>): RecordedEvent[] {
  return rows.filter((row) => row.global_position !== null).map((row) => toRecordedEvent(row as EventRow));
}

/** Maps the SQLSTATEs `append_to_stream` raises to the store's errors. */
function appendFailure(error: unknown, streamId: string, expected: string | number): unknown {
  const { code, detail } = (error ?? {}) as { code?: string; detail?: string };
  switch (code) {
    case 'ESWEV':
      return new WrongExpectedVersionError(streamId, expected, Number(detail));
    case 'ESNFD':
      return new StreamNotFoundError(streamId);
    case 'ESDEL':
      return new StreamDeletedError(streamId);
    case 'ESDUP':
      return new DuplicateEventError(detail ?? 'unknown', streamId, error);
  }
  if (isStoredEventId(error)) {
    // A concurrent append to another stream stored the same event id first.
    return new DuplicateEventError(duplicateId(detail), streamId, error);
  }
  return error;
}

function duplicateId(detail: string | undefined): string {
  return /\(event_id\)=\(([^)]+)\)/.exec(detail ?? '')?.[1] ?? 'unknown';
}
