/**
 * The event store's benchmark: `npm run bench`. Measures the store against plain SQL on a table of
 * the same shape, on the same server in the same run, and prints a Markdown report on stdout
 * (progress goes to stderr). Targets that are missed are reported; the exit code stays 0.
 *
 * The last section starts the service (dist/apps/event-store-service) as a child process and
 * measures it over HTTP with autocannon, beside the library in this process.
 *
 * EVENT_STORE_HOST (with EVENT_STORE_PORT/USER/PASS) selects a server, otherwise an embedded one is
 * started in data/bench-postgres. BENCH_SECONDS sets the length of each measurement (default 3).
 * BENCH_SERVICE_MAIN runs another build of the service (default dist/apps/event-store-service/src/main.js).
 * BENCH_TAG_EVENTS sizes the store the tag-filtered read is measured on (default 1,000,000).
 * BENCH_ONLY=appends runs only the append workloads (new and existing streams beside a plain INSERT),
 * BENCH_ONLY=http only the HTTP section, BENCH_ONLY=streams only the consistency-across-streams one,
 * BENCH_ONLY=sourcing only the event-sourcing one (projections and aggregates), BENCH_ONLY=tracing only
 * appends with tracing off and on, BENCH_ONLY=operations
 * only export and import beside raw COPY (BENCH_EXPORT_EVENTS sizes its larger store, default 1,000,000).
 */
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { relative } from 'node:path';
import {
  MULTI_STREAMS,
  multiStreamAppends,
  rawTagReader,
  readTaggedPages,
  SEEDED_TAG,
  seedTaggedEvents,
  storeTagReader,
  TAG_EVERY,
  tagPass,
  unfilteredPass,
} from './consistency-scenarios.js';
import { openEnvironment, POOL_SIZE, type BenchEnvironment } from './environment.js';
import { describeError, opsPerSecond } from './harness.js';
import { percentiles, type LoadMeasurement } from './http-load.js';
import { compareAppends, compareReads, HTTP_READERS, HTTP_WRITERS, type HttpComparison, type HttpTargets } from './http-scenarios.js';
import {
  renderConsistencyReport,
  renderHttpReport,
  renderReport,
  renderSourcingReport,
  renderSubscriptionReport,
  renderTracingReport,
  renderAppendWorkloads,
  type CatchUpPair,
  type HttpScenarioResult,
  type RunInfo,
  type ScenarioResult,
  type ScalingResult,
} from './report.js';
import { SERVICE_MAIN, startService } from './service-process.js';
import {
  aggregateLatency,
  BACKLOG_EVENTS,
  BACKLOG_STREAMS,
  latencyPercentiles,
  POLL_MS,
  rawCatchUp,
  sameReadModels,
  seedBacklog as seedSourcingBacklog,
  SNAPSHOT_EVERY,
  storeCatchUp,
  type AggregateLatency,
  type CatchUpContext,
  type CatchUpRun,
} from './sourcing-scenarios.js';
import { measureOperations, renderOperationsReport } from './operations-scenarios.js';
import { measureTracing, measureTracingOff, TRACING_WRITERS } from './tracing-scenarios.js';
import { APPEND_ROUNDS, measureAppendWorkloads } from './append-scenarios.js';
import { measureCatchUp, measureIdleSubscriptions, measureLatency, measureMemory, seedBacklog } from './subscription-scenarios.js';
import {
  appendEvents,
  compare,
  comparePair,
  readAllPages,
  READ_STREAM,
  readStreamPages,
  seedReadStream,
  type Comparison,
  type ScenarioContext,
} from './scenarios.js';
import { ConditionalStoreTarget, RawTarget, StoreTarget, TypedStoreTarget } from './targets.js';

const STEPS = 31;
/** Concurrent writers of the multi-stream scenario. */
const MULTI_WRITERS = 8;
/** Concurrent readers of the tag-filtered read. */
const TAG_READERS = 4;
/** Batch sizes of the projection catch-up. */
const PROJECTION_BATCH_SIZES = [100, 500];
/** Runs of each side per batch size, alternating store and raw. */
const CATCH_UP_RUNS = 2;
/** Concurrent callers of the aggregate scenario. */
const AGGREGATE_CONCURRENCY = [1, 8, 32];
/** The seeded stream of typed events. */
const TYPED_READ_STREAM = 'bench-read-typed';

/** Runs every scenario and prints the report; always cleans up. */
async function main(): Promise<void> {
  Logger.overrideLogger(['error', 'warn']);
  const seconds = benchSeconds();
  const warmupSeconds = Math.min(1, seconds / 4);
  const environment = await openEnvironment(progress);
  try {
    const context: ScenarioContext = {
      store: new StoreTarget(environment.store),
      raw: new RawTarget(environment.raw, environment.rawSchema),
      seconds,
      warmupSeconds,
    };
    const only = benchOnly();
    if (only === undefined) {
      const { scenarios, scaling, allSizes } = await runScenarios(environment, context);
      const info: RunInfo = { server: environment.server, ...machine(), seconds, warmupSeconds, poolSize: POOL_SIZE, allSizes };
      process.stdout.write(renderReport(info, scenarios, scaling));
      process.stdout.write(await runSubscriptionScenarios(environment, seconds));
    }
    if (only === undefined || only === 'http') {
      process.stdout.write(await runHttpScenarios(environment, seconds, warmupSeconds));
    }
    if (only === undefined || only === 'streams') {
      process.stdout.write(await runConsistencyScenarios(environment, context));
    }
    if (only === undefined || only === 'sourcing') {
      process.stdout.write(await runSourcingScenarios(environment, context));
    }
    if (only === undefined || only === 'appends') {
      progress(`[${STEPS - 3}/${STEPS}] append workloads: new and existing streams, 1 and 32 writers, beside a plain INSERT...`);
      const rows = await measureAppendWorkloads(context, progress);
      process.stdout.write(renderAppendWorkloads(rows, { seconds, warmupSeconds, rounds: APPEND_ROUNDS }));
    }
    if (only === undefined || only === 'tracing') {
      progress(
        `[${STEPS - 2}/${STEPS}] appends with tracing off and on (spans dropped, OTLP to a local collector), ${TRACING_WRITERS} writers...`,
      );
      const results = await measureTracing(context);
      const off = await measureTracingOff();
      process.stdout.write(renderTracingReport({ ...results, off, seconds, warmupSeconds }));
    }
    if (only === undefined || only === 'operations') {
      progress(`[${STEPS - 1}/${STEPS}] export and import beside raw COPY...`);
      process.stdout.write(renderOperationsReport(await measureOperations(environment, progress)));
    }
  } finally {
    progress(`[${STEPS}/${STEPS}] cleaning up...`);
    await environment.close();
  }
}

async function runScenarios(environment: BenchEnvironment, context: ScenarioContext) {
  const a = await timed(1, '1-event appends, 1 writer', () => compare(context, 1, appendEvents('a', 1)));
  const b = await timed(2, '1-event appends, 32 writers', () => compare(context, 32, appendEvents('b', 1)));
  const c = await timed(3, '100-event appends, 4 writers', () => compare(context, 4, appendEvents('c', 100)));
  progress(`[4/${STEPS}] seeding a 10,000-event stream in the store and the raw table...`);
  await seedReadStream(context.store);
  await seedReadStream(context.raw);
  await analyze(environment);
  const d = await timed(5, 'reading one stream, 1000-event pages, 4 readers', () => compare(context, 4, readStreamPages()));
  const allSizes = await allSize(environment);
  const e = await timed(6, 'reading $all, 1000-event pages, 4 readers', () => compare(context, 4, readAllPages()));
  // Typed events against the same store on plain JSON: what registration, validation and classes cost.
  const typed: ScenarioContext = { ...context, store: new TypedStoreTarget(environment.store), raw: context.store };
  const f = await timed(7, 'typed 1-event appends, 32 writers', () => compare(typed, 32, appendEvents('f', 1)), TYPED_SIDES);
  const g = await timed(8, 'typed 100-event appends, 4 writers', () => compare(typed, 4, appendEvents('g', 100)), TYPED_SIDES);
  await seedReadStream(typed.store, TYPED_READ_STREAM);
  const readTyped = readStreamPages((target) => (target.name === 'typed' ? TYPED_READ_STREAM : READ_STREAM));
  const h = await timed(9, 'typed reads of one stream, 1000-event pages, 4 readers', () => compare(typed, 4, readTyped), TYPED_SIDES);
  const scenarios: ScenarioResult[] = [
    { id: 'a', label: '1-event append, 1 writer', comparison: a },
    { id: 'b', label: '1-event append, 32 writers', comparison: b, target: 0.5 },
    { id: 'c', label: '100-event append, 4 writers', comparison: c, target: 0.7 },
    { id: 'd', label: 'read one stream, 1000/page, 4 readers', comparison: d, target: 0.5 },
    { id: 'e', label: 'read $all, 1000/page, 4 readers', comparison: e, target: 0.5 },
    { id: 'f', label: 'typed ÷ plain: 1-event append, 32 writers', comparison: f, target: 0.8 },
    { id: 'g', label: 'typed ÷ plain: 100-event append, 4 writers', comparison: g, target: 0.8 },
    { id: 'h', label: 'typed ÷ plain: read one stream, 1000/page, 4 readers', comparison: h, target: 0.8 },
  ];
  const scaling: ScalingResult = { one: a, many: b, target: 3 };
  return { scenarios, scaling, allSizes };
}

const STORE_SIDES = ['store', 'raw'] as const;
const TYPED_SIDES = ['typed', 'plain'] as const;
const CONDITIONAL_SIDES = ['conditional', 'plain'] as const;
const MULTI_SIDES = ['appendToStreams', `${MULTI_STREAMS} × appendToStream`] as const;

/** Subscription latency, catch-up and memory (issue #4). */
async function runSubscriptionScenarios(environment: BenchEnvironment, seconds: number): Promise<string> {
  const { store, raw, storeSchema } = environment;
  progress(`[10/${STEPS}] subscription latency: 1,000 appends/s for ${seconds} s, subscriber in a second store instance...`);
  const latency = await measureLatency(store, await environment.openPeer(), 1_000, seconds);
  progress(`      p50 ${latency.p50Ms.toFixed(1)} ms, p99 ${latency.p99Ms.toFixed(1)} ms`);
  progress(`[11/${STEPS}] storing a 100,000-event backlog, then catching up through it (store, then raw)...`);
  const {
    events: [newest],
  } = await store.readAllBackward({ maxCount: 1 });
  await seedBacklog(store, 'backlog', 100_000);
  await analyze(environment);
  const catchUp = await measureCatchUp(store, raw, storeSchema, newest?.globalPosition ?? 0, 100_000);
  progress(`      store ${Math.round(catchUp.storeEventsPerSecond)} events/s, raw ${Math.round(catchUp.rawEventsPerSecond)} events/s`);
  progress(`[12/${STEPS}] memory of a slow subscriber facing 10,000 and 100,000 stored events...`);
  await seedBacklog(store, 'small', 10_000);
  const memory = await measureMemory(
    store,
    [
      { prefix: 'small', events: 10_000 },
      { prefix: 'backlog', events: 100_000 },
    ],
    Math.max(2, seconds),
  );
  progress(`      then the median append beside 1,000 idle persistent subscriptions in this process...`);
  const idle = await measureIdleSubscriptions(store, 1_000, seconds);
  progress(
    `      ${idle.withMs.toFixed(2)} ms with them, ${idle.beforeMs.toFixed(2)} / ${idle.afterMs.toFixed(2)} ms alone before / after`,
  );
  return renderSubscriptionReport(latency, catchUp, memory, idle);
}

/**
 * The service in a child process against the library in this one, on a schema of
 * their own that both write to, so that table sizes weigh on both alike.
 */
async function runHttpScenarios(environment: BenchEnvironment, seconds: number, warmupSeconds: number): Promise<string> {
  const schema = `${environment.storeSchema}_http`;
  progress(`[13/${STEPS}] starting the service (node ${relative(process.cwd(), SERVICE_MAIN)}) on schema ${schema}...`);
  // The library store first: it creates the schema, which the environment then drops at close.
  const library = await environment.openStoreIn(schema);
  const service = await startService({ connection: environment.connection, schema, poolSize: POOL_SIZE });
  progress(`      listening on ${service.baseUrl} (pid ${service.pid})`);
  try {
    const targets: HttpTargets = { service, library, seconds, warmupSeconds };
    const appends = await timedHttp(14, `1-event appends, ${HTTP_WRITERS} writers`, () => compareAppends(targets));
    progress(`[15/${STEPS}] seeding a 10,000-event stream on ${schema}...`);
    await seedReadStream(new StoreTarget(library));
    await environment.raw.query(`ANALYZE "${schema}".events, "${schema}".streams`);
    const reads = await timedHttp(16, `reading one stream, 1000-event pages, ${HTTP_READERS} readers`, () => compareReads(targets));
    const scenarios: HttpScenarioResult[] = [
      { id: 'i', label: `HTTP ÷ library: 1-event append, ${HTTP_WRITERS} writers`, comparison: appends, target: 0.4 },
      { id: 'j', label: `HTTP ÷ library: read one stream, 1000/page, ${HTTP_READERS} readers`, comparison: reads },
    ];
    return renderHttpReport(scenarios, { main: relative(process.cwd(), SERVICE_MAIN), schema, poolSize: POOL_SIZE });
  } catch (error) {
    progress(`the service's last lines:\n${(await service.output()).join('\n')}`);
    throw error;
  } finally {
    await service.stop();
  }
}

/**
 * Consistency across streams (PRODUCT.md): conditional appends beside plain ones and a
 * multi-stream append beside single appends, on the benchmark's store; then a tag-filtered `$all`
 * read beside raw SQL on a schema of its own, seeded for it and dropped after it.
 */
async function runConsistencyScenarios(environment: BenchEnvironment, context: ScenarioContext): Promise<string> {
  const { seconds, warmupSeconds } = context;
  const conditional: ScenarioContext = { ...context, store: new ConditionalStoreTarget(environment.store), raw: context.store };
  const k = await timed(
    17,
    'conditional 1-event appends, 1 writer',
    () => compare(conditional, 1, appendEvents('k', 1)),
    CONDITIONAL_SIDES,
  );
  const l = await timed(
    18,
    'conditional 1-event appends, 32 writers',
    () => compare(conditional, 32, appendEvents('l', 1)),
    CONDITIONAL_SIDES,
  );
  const multi = multiStreamAppends(environment.store, 'm');
  const m = await timed(
    19,
    `${MULTI_STREAMS} streams × 1 event, ${MULTI_WRITERS} writers`,
    async () => {
      await multi.prepare(MULTI_WRITERS);
      return comparePair(context, MULTI_WRITERS, multi.multi, multi.singles);
    },
    MULTI_SIDES,
  );
  const count = tagEvents();
  const schema = `${environment.storeSchema}_tags`;
  progress(`[20/${STEPS}] seeding ${count.toLocaleString('en-US')} events (1 in ${TAG_EVERY} tagged) on schema ${schema}...`);
  const scratch = await environment.openScratchStore(schema);
  try {
    const seed = await seedTaggedEvents(scratch.store, count, (written, elapsed) =>
      progress(`      ${written.toLocaleString('en-US')} events in ${elapsed.toFixed(1)} s...`),
    );
    progress(`      ${seed.seconds.toFixed(1)} s, ${Math.round(seed.events / seed.seconds)} events/s; vacuum and analyze...`);
    const vacuumStarted = performance.now();
    await environment.raw.query(`VACUUM (ANALYZE) "${schema}".events, "${schema}".event_tags, "${schema}".streams`);
    const vacuumSeconds = (performance.now() - vacuumStarted) / 1000;
    progress(`      ${vacuumSeconds.toFixed(1)} s`);
    const store = storeTagReader(scratch.store);
    const raw = rawTagReader(environment.raw, schema);
    const n = await timed(21, `tag-filtered $all reads, 1000-event pages, ${TAG_READERS} readers`, () =>
      comparePair(context, TAG_READERS, readTaggedPages(store, SEEDED_TAG), readTaggedPages(raw, SEEDED_TAG)),
    );
    progress(`[22/${STEPS}] one pass each, 1 reader: tag-filtered (store, raw), then all of $all unfiltered (store)...`);
    const passes = {
      store: await tagPass(store, SEEDED_TAG),
      raw: await tagPass(raw, SEEDED_TAG),
      unfiltered: await unfilteredPass(scratch.store, SEEDED_TAG),
    };
    progress(
      `      tag-filtered ${(passes.store.seconds * 1000).toFixed(0)} ms (raw ${(passes.raw.seconds * 1000).toFixed(0)} ms) ` +
        `for ${passes.store.events} events; unfiltered ${passes.unfiltered.seconds.toFixed(1)} s for ${passes.unfiltered.events}`,
    );
    const label = `${MULTI_STREAMS} streams × 1 event`;
    return renderConsistencyReport({
      appends: [
        { id: 'k', label: 'conditional ÷ plain: 1-event append, 1 writer', comparison: k, target: 0.7 },
        { id: 'l', label: 'conditional ÷ plain: 1-event append, 32 writers', comparison: l, target: 0.7 },
        {
          id: 'm',
          label: `appendToStreams ÷ ${MULTI_STREAMS} × appendToStream: ${label}, ${MULTI_WRITERS} writers`,
          comparison: m,
          target: 1,
          strict: true,
        },
      ],
      tagRead: {
        id: 'n',
        label: `store ÷ raw: tag-filtered $all read (1 in ${TAG_EVERY} of ${count.toLocaleString('en-US')} events), 1000/page, ${TAG_READERS} readers`,
        comparison: n,
      },
      schema,
      tag: SEEDED_TAG,
      seed,
      vacuumSeconds,
      passes,
      seconds,
      warmupSeconds,
      poolSize: POOL_SIZE,
    });
  } finally {
    progress(`[23/${STEPS}] dropping schema ${schema}...`);
    await scratch.close();
  }
}

/**
 * Event sourcing on top of streams (PRODUCT.md), on a schema of its own seeded for it and dropped
 * after it: projections catching up over a backlog beside a raw loop doing the same reads and
 * upserts, then aggregates' `handle` latency beside plain appends.
 */
async function runSourcingScenarios(environment: BenchEnvironment, context: ScenarioContext): Promise<string> {
  const { seconds, warmupSeconds } = context;
  const schema = `${environment.storeSchema}_sourcing`;
  const loadBefore = loadavg()[0]!;
  progress(
    `[24/${STEPS}] seeding ${BACKLOG_EVENTS.toLocaleString('en-US')} events over ${BACKLOG_STREAMS.toLocaleString('en-US')} streams on schema ${schema}...`,
  );
  const scratch = await environment.openScratchStore(schema);
  try {
    const seed = await seedSourcingBacklog(scratch.store, environment.raw, schema);
    progress(
      `      ${seed.seconds.toFixed(1)} s, ${Math.round(seed.events / seed.seconds)} events/s` +
        (seed.visibleAfter >= 0.5 ? ` (in $all ${seed.visibleAfter.toFixed(1)} s later: another client's transaction was open)` : '') +
        '; vacuum and analyze...',
    );
    const vacuumStarted = performance.now();
    await environment.raw.query(`VACUUM (ANALYZE) "${schema}".events, "${schema}".streams`);
    const vacuumSeconds = (performance.now() - vacuumStarted) / 1000;
    const catchUp: CatchUpContext = {
      schema,
      raw: environment.raw,
      seed,
      openApp: (providers) => environment.openAppOn(schema, providers),
    };
    const catchUps: CatchUpPair[] = [];
    for (const [index, batchSize] of PROJECTION_BATCH_SIZES.entries()) {
      progress(`[${25 + index}/${STEPS}] projection catch-up, batchSize ${batchSize} (store, raw, × ${CATCH_UP_RUNS})...`);
      const pair: CatchUpPair = { id: String.fromCharCode(111 + index), batchSize, store: [], raw: [], checks: [], target: 0.7 };
      for (let round = 1; round <= CATCH_UP_RUNS; round++) {
        const run = `b${batchSize}_${round}`;
        pair.store.push(await storeCatchUp(catchUp, batchSize, run));
        pair.raw.push(await rawCatchUp(catchUp, batchSize, run));
        pair.checks.push({ run, ...(await sameReadModels(environment.raw, schema, run)) });
        progress(`      run ${round}: ${describeCatchUp(pair.store.at(-1)!)}; ${describeCatchUp(pair.raw.at(-1)!)}`);
      }
      catchUps.push(pair);
    }
    progress(`[27/${STEPS}] aggregate handle beside appendToStream, ${AGGREGATE_CONCURRENCY.join(', ')} callers...`);
    const results: AggregateLatency[] = [];
    for (const concurrency of AGGREGATE_CONCURRENCY) {
      const result = await aggregateLatency(scratch.store, concurrency, { seconds, warmupSeconds });
      const [h, a] = [latencyPercentiles(result.handle), latencyPercentiles(result.append)];
      progress(
        `      ${concurrency}: handle p50 ${h.p50.toFixed(2)} ms, p99 ${h.p99.toFixed(2)} ms, ${Math.round(opsPerSecond(result.handle))}/s; ` +
          `append p50 ${a.p50.toFixed(2)} ms, p99 ${a.p99.toFixed(2)} ms, ${Math.round(opsPerSecond(result.append))}/s` +
          (result.handle.errors + result.append.errors > 0 ? `; ${result.handle.errors + result.append.errors} error(s)` : ''),
      );
      results.push(result);
    }
    return renderSourcingReport({
      schema,
      seed,
      vacuumSeconds,
      pollMs: POLL_MS,
      loadAverage: `${loadBefore.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end (${availableParallelism()} cores)`,
      catchUps,
      aggregates: { id: 'q', snapshotEvery: SNAPSHOT_EVERY, results },
      seconds,
      warmupSeconds,
      poolSize: POOL_SIZE,
    });
  } finally {
    progress(`[${STEPS - 1}/${STEPS}] dropping schema ${schema}...`);
    await scratch.close();
  }
}

function describeCatchUp(run: CatchUpRun): string {
  return `${run.side} ${Math.round(run.eventsPerSecond)} events/s in ${run.seconds.toFixed(2)} s${run.bootSeconds === undefined ? '' : ` (boot ${run.bootSeconds.toFixed(2)} s)`}`;
}

/** An HTTP scenario between progress lines on stderr. */
async function timedHttp(step: number, label: string, run: () => Promise<HttpComparison>): Promise<HttpComparison> {
  progress(`[${step}/${STEPS}] ${label} (library, then HTTP)...`);
  const result = await run();
  const side = (name: string, m: LoadMeasurement): string =>
    `${name} ${Math.round(opsPerSecond(m))} ops/s, p99 ${percentiles(m.latenciesMs).p99.toFixed(1)} ms` +
    (m.errors + m.non2xx > 0 ? ` (${m.errors} error(s), ${m.non2xx} non-2xx)` : '');
  progress(`      ${side('library', result.library)}; ${side('HTTP', result.http)}`);
  return result;
}

/** Runs one scenario between progress lines on stderr; `sides` names what is compared. */
async function timed(
  step: number,
  label: string,
  run: () => Promise<Comparison>,
  [first, second]: readonly [string, string] = STORE_SIDES,
): Promise<Comparison> {
  progress(`[${step}/${STEPS}] ${label} (${first}, then ${second})...`);
  const result = await run();
  const errors = result.store.errors + result.raw.errors;
  progress(
    `      ${first} ${Math.round(opsPerSecond(result.store))} ops/s, ${second} ${Math.round(opsPerSecond(result.raw))} ops/s` +
      (errors > 0 ? `, ${errors} error(s)` : ''),
  );
  return result;
}

/** Fresh planner statistics on both sides before the reads. */
async function analyze(environment: BenchEnvironment): Promise<void> {
  const { raw, storeSchema, rawSchema } = environment;
  await raw.query(`ANALYZE "${storeSchema}".events, "${storeSchema}".streams, "${rawSchema}".raw_events`);
}

async function allSize(environment: BenchEnvironment): Promise<{ store: number; raw: number }> {
  const { raw, storeSchema, rawSchema } = environment;
  const { rows } = await raw.query<{ store: string; raw: string }>(
    `SELECT (SELECT count(*) FROM "${storeSchema}".events) AS store, (SELECT count(*) FROM "${rawSchema}".raw_events) AS raw`,
  );
  return { store: Number(rows[0]!.store), raw: Number(rows[0]!.raw) };
}

/**
 * `BENCH_ONLY=appends` runs the append workloads alone, `BENCH_ONLY=http` the HTTP section alone (a quicker loop while working on the service),
 * `BENCH_ONLY=streams` the consistency-across-streams section alone, `BENCH_ONLY=sourcing` the
 * event-sourcing one (projections and aggregates) alone, `BENCH_ONLY=tracing` appends with tracing
 * off and on, `BENCH_ONLY=operations` export and import.
 */
function benchOnly(): (typeof BENCH_SECTIONS)[number] | undefined {
  const only = process.env.BENCH_ONLY;
  if (only === undefined || only === '') return undefined;
  const section = BENCH_SECTIONS.find((name) => name === only);
  if (section === undefined) {
    throw new Error(`BENCH_ONLY must be one of ${BENCH_SECTIONS.join(', ')} (or unset for everything), got ${only}`);
  }
  return section;
}

/** The sections `BENCH_ONLY` may name. */
const BENCH_SECTIONS = ['appends', 'http', 'streams', 'sourcing', 'tracing', 'operations'] as const;

/** `BENCH_TAG_EVENTS`: the events seeded for the tag-filtered read (default 1,000,000). */
function tagEvents(): number {
  const value = Number(process.env.BENCH_TAG_EVENTS ?? 1_000_000);
  if (!Number.isSafeInteger(value) || value < 100) {
    throw new Error(`BENCH_TAG_EVENTS must be an integer of at least 100, got ${process.env.BENCH_TAG_EVENTS}`);
  }
  return value;
}

function benchSeconds(): number {
  const value = Number(process.env.BENCH_SECONDS ?? 3);
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`BENCH_SECONDS must be a positive number of seconds, got ${process.env.BENCH_SECONDS}`);
  }
  return value;
}

function machine(): { cores: number; cpuModel: string } {
  return { cores: availableParallelism(), cpuModel: cpus()[0]?.model.trim() ?? 'unknown CPU' };
}

function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

main().catch((error: unknown) => {
  progress(`bench failed: ${describeError(error)}`);
  if (error instanceof Error && error.stack) {
    progress(error.stack);
  }
  process.exitCode = 1;
});
