/**
 * A projection for the projection tests: per stream, how many events it applied, the last version
 * and the sum of the events' `data.n`; a one-row total (events applied, the position of the last
 * one); and one row per application of an event (no key, so that an event applied twice shows
 * twice). `expectedModel` folds events read from `$all` the same way: a replay from scratch.
 */
import { Injectable, type Type } from '@nestjs/common';
import type pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventually } from './eventually.js';
import {
  Projection,
  type ProjectionHandler,
  type ProjectionOptions,
  type ProjectionTables,
  type RecordedEvent,
  type StoreTransaction,
  type EventStore,
} from '@game-bot/event-store';

/** What a counting projection is made of. */
export interface CountingSettings {
  /** Schema of the read model's tables (the test's own). */
  schema: string;
  /** Prefix of the table names. */
  prefix: string;
  options?: ProjectionOptions;
  /** Called before each event is applied (to slow it down, fail it, or report it). */
  before?: (event: RecordedEvent, tx: StoreTransaction, tables: ProjectionTables) => Promise<void> | void;
  /** Written into each stream row and the total: which code built it. */
  version?: () => number;
}

/** The read model's table names for `schema` and `prefix`. */
export function countingTables(schema: string, prefix: string): { totals: string; streams: string; applied: string } {
  return { totals: `${schema}.${prefix}_totals`, streams: `${schema}.${prefix}_streams`, applied: `${schema}.${prefix}_applied` };
}

/** A `@Projection` provider class named `name` (see the file's comment). */
export function countingProjection(name: string, settings: CountingSettings): Type<ProjectionHandler> {
  const version = settings.version ?? (() => 1);
  @Projection(name, settings.options ?? {})
  @Injectable()
  class CountingProjection implements ProjectionHandler {
    readonly tables = countingTables(settings.schema, settings.prefix);

    async createTables(tx: StoreTransaction, t: ProjectionTables): Promise<void> {
      await tx.query(
        `CREATE TABLE ${t.totals} (id integer PRIMARY KEY, events bigint NOT NULL, last_position bigint NOT NULL, version integer NOT NULL)`,
      );
      await tx.query(`INSERT INTO ${t.totals} VALUES (1, 0, 0, $1)`, [version()]);
      await tx.query(
        `CREATE TABLE ${t.streams} (stream_id text PRIMARY KEY, events integer NOT NULL, last_version integer NOT NULL, sum_n bigint NOT NULL, version integer NOT NULL)`,
      );
      await tx.query(`CREATE TABLE ${t.applied} (event_id uuid NOT NULL, global_position bigint NOT NULL)`);
    }

    async handle(event: RecordedEvent, tx: StoreTransaction, t: ProjectionTables): Promise<void> {
      await settings.before?.(event, tx, t);
      const n = Number((event.data as { n?: number }).n ?? 0);
      await tx.query(
        `INSERT INTO ${t.streams} AS s (stream_id, events, last_version, sum_n, version) VALUES ($1, 1, $2, $3, $4)
         ON CONFLICT (stream_id) DO UPDATE SET events = s.events + 1, last_version = EXCLUDED.last_version,
           sum_n = s.sum_n + EXCLUDED.sum_n, version = EXCLUDED.version`,
        [event.streamId, event.streamVersion, n, version()],
      );
      await tx.query(`UPDATE ${t.totals} SET events = events + 1, last_position = $1, version = $2 WHERE id = 1`, [
        event.globalPosition,
        version(),
      ]);
      await tx.query(`INSERT INTO ${t.applied} VALUES ($1, $2)`, [event.eventId, event.globalPosition]);
    }
  }
  return CountingProjection;
}

/** The read model as rows, sorted. */
export interface CountingModel {
  totals: { events: number; lastPosition: number };
  streams: Array<{ streamId: string; events: number; lastVersion: number; sumN: number }>;
  /** Event ids applied, sorted (an event applied twice is there twice). */
  applied: string[];
}

/** The read model a replay of `events` (in `$all` order) from scratch yields. */
export function expectedModel(events: RecordedEvent[]): CountingModel {
  const streams = new Map<string, { streamId: string; events: number; lastVersion: number; sumN: number }>();
  for (const event of events) {
    const row = streams.get(event.streamId) ?? { streamId: event.streamId, events: 0, lastVersion: 0, sumN: 0 };
    row.events += 1;
    row.lastVersion = event.streamVersion;
    row.sumN += Number((event.data as { n?: number }).n ?? 0);
    streams.set(event.streamId, row);
  }
  return {
    totals: { events: events.length, lastPosition: events.at(-1)?.globalPosition ?? 0 },
    streams: [...streams.values()].sort((a, b) => (a.streamId < b.streamId ? -1 : 1)),
    applied: events.map((event) => event.eventId).sort(),
  };
}

/** The read model as stored. */
export async function readModel(sql: pg.Pool, schema: string, prefix: string): Promise<CountingModel> {
  const t = countingTables(schema, prefix);
  const totals = (await sql.query<{ events: string; last_position: string }>(`SELECT events, last_position FROM ${t.totals}`)).rows[0]!;
  const streams = await sql.query<{ stream_id: string; events: number; last_version: number; sum_n: string }>(
    `SELECT stream_id, events, last_version, sum_n FROM ${t.streams} ORDER BY stream_id COLLATE "C"`,
  );
  const applied = await sql.query<{ event_id: string }>(`SELECT event_id::text FROM ${t.applied} ORDER BY event_id`);
  return {
    totals: { events: Number(totals.events), lastPosition: Number(totals.last_position) },
    streams: streams.rows.map((row) => ({
      streamId: row.stream_id,
      events: row.events,
      lastVersion: row.last_version,
      sumN: Number(row.sum_n),
    })),
    applied: applied.rows.map((row) => row.event_id).sort(),
  };
}

/** Every event of `$all` that `filter` selects, in `$all` order. */
export async function allEvents(
  readAllForward: (options: { fromPosition: number; maxCount: number; filter?: { streamPrefix?: string } }) => Promise<{
    events: RecordedEvent[];
    nextFromPosition: number | null;
  }>,
  filter?: { streamPrefix?: string },
): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  let cursor = 0;
  for (;;) {
    const page = await readAllForward({ fromPosition: cursor, maxCount: 1000, filter });
    events.push(...page.events);
    if (page.events.length === 0 && page.nextFromPosition === cursor) return events;
    cursor = page.nextFromPosition ?? cursor;
  }
}

/** Waits `ms`. */
export const pause = (ms: number): Promise<void> => sleep(ms);

/**
 * Waits until projection `name` has applied every visible event (lag 0). Before a process has
 * started it, it has no status row: that counts as not caught up.
 */
export async function projectionCaughtUp(
  t: { store: EventStore; allVisible(): Promise<void> },
  name: string,
  timeoutMs = 20_000,
): Promise<void> {
  await t.allVisible();
  const lag = (): Promise<number> =>
    t.store.projectionStatus(name).then(
      (status) => status.lag,
      () => -1,
    );
  await eventually(async () => (await lag()) === 0, timeoutMs, `${name} to catch up`);
}
