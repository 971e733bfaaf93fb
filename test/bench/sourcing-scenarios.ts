import { Injectable, type Type } from '@nestjs/common';
import { readFile } from 'node:fs/promises';
import type pg from 'pg';
import {
  ExpectedVersion,
  Projection,
  type Decider,
  type EventData,
  type EventStore,
  type ProjectionHandler,
  type ProjectionTables,
  type RecordedEvent,
  type StoreTransaction,
} from '@game-bot/event-store';
import type { BenchApp } from './environment.js';
import { describeError } from './harness.js';
import { percentiles } from './http-load.js';
import { toRecordedEvent, type RawTaggedRow } from './targets.js';

/*
 * Event sourcing on top of streams (PRODUCT.md): a projection catching up over a stored backlog
 * beside a raw loop doing the same reads and upserts, and the latency of an aggregate's `handle`.
 */

/** Events of the backlog the projections catch up over. */
export const BACKLOG_EVENTS = 100_000;
/** Streams (players) the backlog is spread over, one read-model row each. */
export const BACKLOG_STREAMS = 1_000;
/** Events per seeding append: two games of one player. */
const SEED_EVENTS_PER_APPEND = 20;
/** Concurrent seeding writers, each on players of its own. */
const SEED_WRITERS = 8;
/** How often both sides' checkpoints are polled while they catch up. */
export const POLL_MS = 100;

/** The event types of the backlog: each game a start, eight guesses and an end. */
export const BACKLOG_TYPES = ['GameStarted', 'GuessProcessed', 'GameWon', 'GameLost'] as const;

/** The `n`th event (1-based) of player `player`'s stream. */
function backlogEvent(player: number, n: number): EventData {
  const game = `game-${player}-${Math.ceil(n / 10)}`;
  const who = `player-${player}`;
  switch (n % 10) {
    case 1:
      return {
        eventType: 'GameStarted',
        data: { player: who, game, word: 'crane', day: Math.ceil(n / 10) },
        metadata: { source: 'bench' },
      };
    case 0:
      return {
        eventType: n % 20 === 0 ? 'GameWon' : 'GameLost',
        data: { player: who, game, guesses: 8, word: 'crane' },
        metadata: { source: 'bench' },
      };
    default:
      return {
        eventType: 'GuessProcessed',
        data: { player: who, game, n, guess: 'slate', feedback: ['absent', 'present', 'correct', 'absent', 'present'], score: n % 7 },
        metadata: { source: 'bench', round: n },
      };
  }
}

/** How the backlog was written. */
export interface BacklogSeed {
  events: number;
  streams: number;
  seconds: number;
  /** Events of one append (one stream). */
  perAppend: number;
  writers: number;
  /** Seconds waited after the writes until `$all` showed all of them (see {@link waitUntilVisible}). */
  visibleAfter: number;
  /** The last event of `$all` once written: where a catch-up ends. */
  end: number;
}

/**
 * Writes {@link BACKLOG_EVENTS} events over {@link BACKLOG_STREAMS} streams `player-<n>` through
 * the library: appends of {@link SEED_EVENTS_PER_APPEND} events (two games of a player) from
 * {@link SEED_WRITERS} writers on players of their own, each going round its players, so that
 * consecutive appends in `$all` are of different players and a page touches several rows.
 */
export async function seedBacklog(store: EventStore, raw: pg.Pool, schema: string): Promise<BacklogSeed> {
  const started = performance.now();
  const perStream = BACKLOG_EVENTS / BACKLOG_STREAMS;
  await Promise.all(
    Array.from({ length: SEED_WRITERS }, async (_, writer) => {
      const mine = Array.from({ length: BACKLOG_STREAMS / SEED_WRITERS }, (_, i) => i * SEED_WRITERS + writer);
      for (let from = 1; from <= perStream; from += SEED_EVENTS_PER_APPEND) {
        for (const player of mine) {
          const events = Array.from({ length: SEED_EVENTS_PER_APPEND }, (_, i) => backlogEvent(player, from + i));
          await store.appendToStream(`player-${player}`, ExpectedVersion.Any, events);
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const visibleAfter = await waitUntilVisible(raw, schema);
  const {
    events: [last],
  } = await store.readAllBackward({ maxCount: 1 });
  return {
    events: BACKLOG_EVENTS,
    streams: BACKLOG_STREAMS,
    seconds,
    perAppend: SEED_EVENTS_PER_APPEND,
    writers: SEED_WRITERS,
    visibleAfter,
    end: last!.globalPosition,
  };
}

/**
 * Waits until every event of `schema` is in `$all`: below the oldest transaction still running on
 * the server (`$all` shows nothing newer, docs/design.md), which a transaction left open by another
 * client of the same server holds back. Resolves to the seconds waited.
 */
async function waitUntilVisible(raw: pg.Pool, schema: string): Promise<number> {
  const started = performance.now();
  const text = `SELECT (SELECT max(transaction_id) FROM "${schema}".events) < pg_snapshot_xmin(pg_current_snapshot()) AS visible`;
  while (!(await raw.query<{ visible: boolean }>(text)).rows[0]!.visible) {
    if (performance.now() - started > 60_000) {
      throw new Error(`the backlog is not in $all 60 s after it was written: a transaction of another client of the server stays open`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return (performance.now() - started) / 1000;
}

/** The read model's table: one row per player. */
function createPlayersSql(table: string): string {
  return `
    CREATE TABLE ${table} (
      player text PRIMARY KEY,
      games int NOT NULL DEFAULT 0,
      guesses int NOT NULL DEFAULT 0,
      wins int NOT NULL DEFAULT 0,
      losses int NOT NULL DEFAULT 0,
      points bigint NOT NULL DEFAULT 0,
      current_game text,
      last_position bigint NOT NULL
    )`;
}

/** The upsert of one event into the read model (`undefined`: an event it ignores). Both sides run exactly this. */
function upsert(
  event: Pick<RecordedEvent, 'eventType' | 'data' | 'globalPosition'>,
  table: string,
): { text: string; values: unknown[] } | undefined {
  const data = event.data as { player: string; game: string; score?: number };
  const position = event.globalPosition;
  switch (event.eventType) {
    case 'GameStarted':
      return {
        text: `INSERT INTO ${table} AS p (player, games, current_game, last_position) VALUES ($1, 1, $2, $3)
               ON CONFLICT (player) DO UPDATE SET games = p.games + 1, current_game = EXCLUDED.current_game, last_position = EXCLUDED.last_position`,
        values: [data.player, data.game, position],
      };
    case 'GuessProcessed':
      return {
        text: `INSERT INTO ${table} AS p (player, guesses, points, last_position) VALUES ($1, 1, $2, $3)
               ON CONFLICT (player) DO UPDATE SET guesses = p.guesses + 1, points = p.points + EXCLUDED.points, last_position = EXCLUDED.last_position`,
        values: [data.player, data.score ?? 0, position],
      };
    case 'GameWon':
    case 'GameLost': {
      const column = event.eventType === 'GameWon' ? 'wins' : 'losses';
      return {
        text: `INSERT INTO ${table} AS p (player, ${column}, last_position) VALUES ($1, 1, $2)
               ON CONFLICT (player) DO UPDATE SET ${column} = p.${column} + 1, current_game = NULL, last_position = EXCLUDED.last_position`,
        values: [data.player, position],
      };
    }
    default:
      return undefined;
  }
}

/** Where one catch-up spent its time. */
export interface CatchUpTimes {
  /** Events applied (handled). */
  events: number;
  /** Batches (transactions) that applied them. */
  batches: number;
  /** Summed wall time of the upserts' round trips, as the loop (or the handler) awaited them. */
  upsertSeconds: number;
  /** Raw side only: summed time of the page reads, and of BEGIN + checkpoint update + COMMIT. */
  readSeconds?: number;
  commitSeconds?: number;
}

/** One catch-up over the backlog, store or raw. */
export interface CatchUpRun {
  side: 'store' | 'raw';
  batchSize: number;
  /** From the start (the app's boot, or the raw table's creation) to the checkpoint seen at the end. */
  seconds: number;
  /** Store: boot of the app that runs the projection (included in `seconds`). */
  bootSeconds?: number;
  eventsPerSecond: number;
  /** CPU of this process ÷ wall time (1: one core busy). */
  clientCpu: number;
  /** CPU of the side's PostgreSQL backends ÷ wall time (Linux /proc; NaN where not readable). */
  serverCpu: number;
  times: CatchUpTimes;
  /** Status polls made while waiting. */
  polls: number;
}

/** A `@Projection` provider class of its own, for one run: its own name and tables. */
function projectionClass(name: string, table: string, batchSize: number, times: CatchUpTimes): Type<ProjectionHandler> {
  @Projection(name, { batchSize })
  @Injectable()
  class PlayersProjection implements ProjectionHandler {
    readonly tables: ProjectionTables = { players: table };

    async createTables(tx: StoreTransaction, tables: ProjectionTables): Promise<void> {
      await tx.query(createPlayersSql(tables.players!));
    }

    async handle(event: RecordedEvent, tx: StoreTransaction, tables: ProjectionTables): Promise<void> {
      const statement = upsert(event, tables.players!);
      times.events++;
      if (statement === undefined) return;
      const started = performance.now();
      await tx.query(statement.text, statement.values);
      times.upsertSeconds += (performance.now() - started) / 1000;
    }
  }
  return PlayersProjection;
}

/** What a run of either side needs. */
export interface CatchUpContext {
  /** The schema of the backlog (the store's tables) and of both sides' read models. */
  schema: string;
  raw: pg.Pool;
  seed: BacklogSeed;
  /** Boots a host app with `providers` on the backlog's schema. */
  openApp(providers: Array<Type<unknown>>): Promise<BenchApp>;
}

/**
 * The store: an app with a `@Projection(name, { batchSize })` provider, booted as a host app
 * would; timed from the boot to the moment `projectionStatus(name).checkpoint` (polled every
 * {@link POLL_MS} ms) is the end of the backlog.
 */
export async function storeCatchUp(context: CatchUpContext, batchSize: number, run: string): Promise<CatchUpRun> {
  const name = `bench-players-${run}`;
  const table = `${context.schema}.proj_${run}_players`;
  const times: CatchUpTimes = { events: 0, batches: Math.ceil(context.seed.events / batchSize), upsertSeconds: 0 };
  const cpu = await startCpu(context.raw);
  const started = performance.now();
  const app = await context.openApp([projectionClass(name, table, batchSize, times)]);
  try {
    const bootSeconds = (performance.now() - started) / 1000;
    const polls = await waitFor(async () => (await app.store.projectionStatus(name)).checkpoint === context.seed.end);
    const seconds = (performance.now() - started) / 1000;
    const { clientCpu, serverCpu } = await cpu.stop(seconds);
    const status = await app.store.projectionStatus(name);
    if (status.lag !== 0 || status.lastError !== null) {
      throw new Error(`projection ${name} ended with lag ${status.lag}, last error ${status.lastError?.message ?? 'none'}`);
    }
    return { side: 'store', batchSize, seconds, bootSeconds, eventsPerSecond: times.events / seconds, clientCpu, serverCpu, times, polls };
  } finally {
    await app.close();
  }
}

/** A row of the raw page read: bigint columns as text, jsonb parsed by node-postgres. */
/**
 * The baseline: plain pg on the store's `events` table. Pages of `$all` in (transaction_id,
 * global_position) order, the cursor kept as both (the store keeps the position and looks its
 * transaction id up); for each page one transaction (its own pooled connection, as the store's
 * batches take one) with the same upserts into a table of the same shape, then the checkpoint
 * row's update. Timed from the creation of its table and checkpoint row to the moment its status
 * (the checkpoint row, and the count of events after it, as `projectionStatus` answers) shows the end.
 */
export async function rawCatchUp(context: CatchUpContext, batchSize: number, run: string): Promise<CatchUpRun> {
  const { raw, schema, seed } = context;
  const s = `"${schema}"`;
  const table = `${schema}.raw_${run}_players`;
  const name = `raw-players-${run}`;
  const times: CatchUpTimes = { events: 0, batches: 0, upsertSeconds: 0, readSeconds: 0, commitSeconds: 0 };
  const readText = `
    SELECT e.transaction_id, e.global_position, e.stream_id, e.stream_version, e.event_id, e.event_type, e.schema_version,
           e.data, e.metadata, e.causation_id, e.correlation_id, e.created_at, e.tags
      FROM ${s}.events e
     WHERE (e.transaction_id, e.global_position) > ($1::xid8, $2::bigint)
       AND e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())
     ORDER BY e.transaction_id, e.global_position LIMIT $3`;
  const checkpointText = `UPDATE ${s}.raw_checkpoints SET transaction_id = $2, checkpoint = $3, updated_at = now() WHERE name = $1 AND checkpoint = $4`;
  const cpu = await startCpu(raw);
  const started = performance.now();
  await inTransaction(raw, async (client) => {
    await client.query(`CREATE TABLE IF NOT EXISTS ${s}.raw_checkpoints (
      name text PRIMARY KEY, transaction_id xid8 NOT NULL, checkpoint bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`);
    await client.query(`INSERT INTO ${s}.raw_checkpoints (name, transaction_id, checkpoint) VALUES ($1, '0', 0)`, [name]);
    await client.query(createPlayersSql(table));
  });
  const loop = (async () => {
    let cursor = { transactionId: '0', position: 0 };
    for (;;) {
      const readStarted = performance.now();
      const { rows } = await raw.query<RawTaggedRow>({
        name: `raw_sourcing_read_${schema}`,
        text: readText,
        values: [cursor.transactionId, cursor.position, batchSize],
      });
      const events = rows.map(toRecordedEvent);
      const applyStarted = performance.now();
      times.readSeconds! += (applyStarted - readStarted) / 1000;
      if (rows.length === 0) return;
      const last = rows.at(-1)!;
      const next = { transactionId: last.transaction_id, position: Number(last.global_position) };
      const client = await raw.connect();
      try {
        await client.query('BEGIN');
        const upsertsStarted = performance.now();
        for (const event of events) {
          const statement = upsert(event, table);
          times.events++;
          if (statement !== undefined) await client.query(statement.text, statement.values);
        }
        const upsertsEnded = performance.now();
        times.upsertSeconds += (upsertsEnded - upsertsStarted) / 1000;
        const { rowCount } = await client.query(checkpointText, [name, next.transactionId, next.position, cursor.position]);
        if (rowCount !== 1) throw new Error(`raw checkpoint ${name} moved under the loop`);
        await client.query('COMMIT');
        times.commitSeconds! += (performance.now() - upsertsEnded + (upsertsStarted - applyStarted)) / 1000;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
      times.batches++;
      cursor = next;
    }
  })();
  let failure: unknown;
  loop.catch((error: unknown) => (failure = error));
  const statusText = `SELECT name, transaction_id, checkpoint, updated_at FROM ${s}.raw_checkpoints WHERE name = $1`;
  const lagText = `
    SELECT count(*)::bigint AS n FROM (
      SELECT 1 FROM ${s}.events e
       WHERE (e.transaction_id, e.global_position) > ($1::xid8, $2::bigint)
         AND e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())
       LIMIT 1000000) x`;
  const polls = await waitFor(async () => {
    if (failure !== undefined) throw failure;
    const { rows } = await raw.query<{ transaction_id: string; checkpoint: string }>(statusText, [name]);
    await raw.query(lagText, [rows[0]!.transaction_id, rows[0]!.checkpoint]);
    return Number(rows[0]!.checkpoint) === seed.end;
  });
  const seconds = (performance.now() - started) / 1000;
  const { clientCpu, serverCpu } = await cpu.stop(seconds);
  await loop;
  return { side: 'raw', batchSize, seconds, eventsPerSecond: times.events / seconds, clientCpu, serverCpu, times, polls };
}

/** Whether the store's and the raw loop's read models of one pair of runs hold the same rows. */
export async function sameReadModels(raw: pg.Pool, schema: string, run: string): Promise<{ rows: number; differing: number }> {
  const [a, b] = [`"${schema}".proj_${run}_players`, `"${schema}".raw_${run}_players`];
  const { rows } = await raw.query<{ rows: string; differing: string; total: string }>(`
    SELECT (SELECT count(*) FROM ${a}) AS rows,
           (SELECT count(*) FROM ((SELECT * FROM ${a} EXCEPT SELECT * FROM ${b}) UNION ALL (SELECT * FROM ${b} EXCEPT SELECT * FROM ${a})) d) AS differing,
           (SELECT sum(games + guesses + wins + losses) FROM ${a}) AS total`);
  const row = rows[0]!;
  if (Number(row.total) !== BACKLOG_EVENTS) {
    return { rows: Number(row.rows), differing: Number(row.differing) + Math.abs(BACKLOG_EVENTS - Number(row.total)) };
  }
  return { rows: Number(row.rows), differing: Number(row.differing) };
}

/** Polls `reached` every {@link POLL_MS} ms until it is true (at most 2 minutes); resolves to the polls made. */
async function waitFor(reached: () => Promise<boolean>): Promise<number> {
  const deadline = performance.now() + 120_000;
  for (let polls = 1; ; polls++) {
    if (await reached()) return polls;
    if (performance.now() > deadline) throw new Error('a catch-up did not reach the end of the backlog within 2 minutes');
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function inTransaction(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<void>): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await work(client);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/**
 * CPU of this process and of the benchmark's PostgreSQL backends (every backend of the bench
 * database whose application name starts with `event-store-bench`, started since included) over
 * a run. The polls' share is in both sides alike.
 */
async function startCpu(pool: pg.Pool): Promise<{ stop(seconds: number): Promise<{ clientCpu: number; serverCpu: number }> }> {
  const client = process.cpuUsage();
  const before = await backendCpu(pool);
  return {
    stop: async (seconds) => {
      const usage = process.cpuUsage(client);
      const after = await backendCpu(pool);
      let server = 0;
      for (const [pid, cpu] of after) server += cpu - (before.get(pid) ?? 0);
      return { clientCpu: (usage.user + usage.system) / 1e6 / seconds, serverCpu: server / seconds };
    },
  };
}

/** CPU seconds of each benchmark backend, by pid (NaN when /proc cannot be read). */
async function backendCpu(pool: pg.Pool): Promise<Map<number, number>> {
  const { rows } = await pool.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'event-store-bench%'`,
  );
  const cpu = new Map<number, number>();
  for (const { pid } of rows) {
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      cpu.set(pid, (Number(fields[11]) + Number(fields[12])) / 100);
    } catch {
      cpu.set(pid, Number.NaN);
    }
  }
  return cpu;
}

/** The counter of the aggregate scenario. */
interface Counter {
  total: number;
  increments: number;
}

/** A small decider: a counter that adds what each command says. */
export const counterDecider: Decider<Counter, { add: number }> = {
  initialState: () => ({ total: 0, increments: 0 }),
  evolve: (state, event) =>
    event.eventType === 'CounterIncremented'
      ? { total: state.total + (event.data.amount as number), increments: state.increments + 1 }
      : state,
  decide: (command) => [{ eventType: 'CounterIncremented', data: { amount: command.add } }],
};

/** Snapshot policy of the aggregate scenario. */
export const SNAPSHOT_EVERY = 50;

/** Latencies of one side of a latency comparison. */
export interface LatencySide {
  ops: number;
  seconds: number;
  concurrency: number;
  latenciesMs: number[];
  errors: number;
  firstError?: string;
}

/** `handle` beside plain appends at one concurrency. */
export interface AggregateLatency {
  concurrency: number;
  handle: LatencySide;
  append: LatencySide;
}

/**
 * Each of `concurrency` callers on an aggregate of its own (a counter, snapshot every
 * {@link SNAPSHOT_EVERY} events), `handle` in a loop; beside it each caller appending 1 event to a
 * stream of its own (expected version any), in alternating slices after a warm-up of each.
 */
export async function aggregateLatency(
  store: EventStore,
  concurrency: number,
  timing: { seconds: number; warmupSeconds: number },
): Promise<AggregateLatency> {
  const counters = store.aggregate(counterDecider, { streamPrefix: 'counter-', snapshotEvery: SNAPSHOT_EVERY });
  let sequence = 0;
  const handle = async (worker: number): Promise<void> => {
    await counters.handle(`c${concurrency}-${worker}`, { add: 1 + (worker % 3) });
  };
  const append = async (worker: number): Promise<void> => {
    await store.appendToStream(`plain-c${concurrency}-${worker}`, ExpectedVersion.Any, [
      { eventType: 'CounterIncremented', data: { amount: 1 + (worker % 3), n: ++sequence } },
    ]);
  };
  await timeLoops(handle, concurrency, timing.warmupSeconds);
  await timeLoops(append, concurrency, timing.warmupSeconds);
  const rounds = 4;
  const slices: [LatencySide[], LatencySide[]] = [[], []];
  for (let round = 0; round < rounds; round++) {
    for (const side of round % 2 === 0 ? [0, 1] : [1, 0]) {
      slices[side]!.push(await timeLoops(side === 0 ? handle : append, concurrency, timing.seconds / rounds));
    }
  }
  return { concurrency, handle: combineLatencies(slices[0], concurrency), append: combineLatencies(slices[1], concurrency) };
}

/** p50 and p99 (ms) of a side. */
export function latencyPercentiles(side: LatencySide): { p50: number; p99: number } {
  const { p50, p99 } = percentiles(side.latenciesMs);
  return { p50, p99 };
}

async function timeLoops(op: (worker: number) => Promise<void>, concurrency: number, seconds: number): Promise<LatencySide> {
  const side: LatencySide = { ops: 0, seconds: 0, concurrency, latenciesMs: [], errors: 0 };
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (performance.now() < deadline) {
        const begun = performance.now();
        try {
          await op(worker);
          side.latenciesMs.push(performance.now() - begun);
          side.ops++;
        } catch (error) {
          side.errors++;
          side.firstError ??= describeError(error);
        }
      }
    }),
  );
  side.seconds = (performance.now() - started) / 1000;
  return side;
}

function combineLatencies(slices: LatencySide[], concurrency: number): LatencySide {
  return {
    ops: slices.reduce((sum, s) => sum + s.ops, 0),
    seconds: slices.reduce((sum, s) => sum + s.seconds, 0),
    concurrency,
    latenciesMs: slices.flatMap((s) => s.latenciesMs),
    errors: slices.reduce((sum, s) => sum + s.errors, 0),
    firstError: slices.find((s) => s.firstError)?.firstError,
  };
}
