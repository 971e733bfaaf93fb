import { sliceRatios, type AppendRow } from './append-scenarios.js';
import type { ServerInfo } from './environment.js';
import { eventsPerSecond, meanLatencyMs, opsPerSecond, type Measurement } from './harness.js';
import { percentiles, type LoadMeasurement } from './http-load.js';
import type { HttpComparison } from './http-scenarios.js';
import type { Comparison } from './scenarios.js';
import type { PassResult, SeedResult } from './consistency-scenarios.js';
import type { CatchUpResult, IdleSubscriptionsResult, LatencyResult, MemoryResult } from './subscription-scenarios.js';
import { BACKLOG_TYPES, type AggregateLatency, type BacklogSeed, type CatchUpRun } from './sourcing-scenarios.js';

/** One measured scenario, and the least store ÷ raw ratio it must reach (none: report only). */
export interface ScenarioResult {
  id: string;
  label: string;
  comparison: Comparison;
  target?: number;
  /** The ratio must exceed `target` rather than reach it. */
  strict?: boolean;
}

/** How the store's appends scale from one writer to many, against the same for raw SQL. */
export interface ScalingResult {
  one: Comparison;
  many: Comparison;
  target: number;
}

/** The conditions of the run, printed above the tables. */
export interface RunInfo {
  server: ServerInfo;
  cores: number;
  cpuModel: string;
  seconds: number;
  warmupSeconds: number;
  poolSize: number;
  /** Events in `$all` when the `$all` scenario started. */
  allSizes: { store: number; raw: number };
}

/** Everything the benchmark prints on stdout, as Markdown. */
export function renderReport(info: RunInfo, scenarios: ScenarioResult[], scaling: ScalingResult): string {
  const failed = failedChecks(scenarios, scaling);
  return [
    ...header(info),
    ...summaryTable(scenarios, scaling),
    '',
    'ratio = store ÷ raw events/s (the same as ops/s where every operation has the same size); for the typed rows f–h,',
    'the "store" column is the store on typed events and the "raw" column the same store on plain JSON.',
    'client CPU = CPU time of the benchmark process (the store or pg client) ÷ wall time; 100% = one core.',
    '',
    ...detailTable(scenarios),
    ...errorLines(scenarios),
    '',
    failed.length === 0 ? '**All targets met.**' : `**Targets failed: ${failed.join('; ')}.**`,
    '',
  ].join('\n');
}

function header(info: RunInfo): string[] {
  return [
    '## Event store benchmark',
    '',
    `- PostgreSQL: ${info.server.version}`,
    `- Server: ${info.server.kind} (${info.server.address}); ${info.server.settings}`,
    `- Cores: ${info.cores} (${info.cpuModel}); Node ${process.version}`,
    `- BENCH_SECONDS: ${info.seconds} per measurement, after a ${info.warmupSeconds} s warm-up`,
    `- Pools: store ${info.poolSize} connections, raw ${info.poolSize}`,
    `- $all size at scenario e: store ${format(info.allSizes.store)} events, raw ${format(info.allSizes.raw)} events`,
    '',
  ];
}

function summaryTable(scenarios: ScenarioResult[], scaling: ScalingResult): string[] {
  const rows = scenarioRows(scenarios);
  const [storeOne, storeMany] = [opsPerSecond(scaling.one.store), opsPerSecond(scaling.many.store)];
  const [rawOne, rawMany] = [opsPerSecond(scaling.one.raw), opsPerSecond(scaling.many.raw)];
  rows.push([
    'store scaling: 32 writers (b) ÷ 1 writer (a)',
    `${format(storeMany)} ÷ ${format(storeOne)}`,
    `${format(rawMany)} ÷ ${format(rawOne)} = ${(rawMany / rawOne).toFixed(2)} (raw, for reference)`,
    ...check(storeMany / storeOne, scaling.target),
  ]);
  return table(['scenario', 'store ops/s', 'raw ops/s', 'ratio', 'target', 'pass/fail'], rows);
}

/** The summary rows of `scenarios`: label, both sides' ops/s, and the check of the events/s ratio. */
function scenarioRows(scenarios: ScenarioResult[]): string[][] {
  return scenarios.map((scenario) => {
    const { store, raw } = scenario.comparison;
    const ratio = eventsPerSecond(store) / eventsPerSecond(raw);
    return [
      `${scenario.id}. ${scenario.label}`,
      format(opsPerSecond(store)),
      format(opsPerSecond(raw)),
      ...check(ratio, scenario.target, scenario.strict),
    ];
  });
}

function detailTable(scenarios: ScenarioResult[], [first, second]: readonly [string, string] = ['store', 'raw']): string[] {
  const rows = scenarios.map(({ id, comparison: { store, raw } }) => [
    id,
    String(store.concurrency),
    format(eventsPerSecond(store)),
    format(eventsPerSecond(raw)),
    meanLatencyMs(store).toFixed(2),
    meanLatencyMs(raw).toFixed(2),
    `${format(store.ops)} / ${format(raw.ops)}`,
    `${percent(store.clientCpu)} / ${percent(raw.clientCpu)}`,
    `${store.errors} / ${raw.errors}`,
  ]);
  const headings = [
    'scenario',
    'loops',
    `${first} events/s`,
    `${second} events/s`,
    `${first} mean ms`,
    `${second} mean ms`,
    `ops ${first} / ${second}`,
    `client CPU ${first} / ${second}`,
    `errors ${first} / ${second}`,
  ];
  return table(headings, rows);
}

function errorLines(scenarios: ScenarioResult[], names: readonly [string, string] = ['store', 'raw']): string[] {
  const lines = scenarios.flatMap(({ id, comparison }) =>
    (['store', 'raw'] as const)
      .filter((side) => comparison[side].errors > 0)
      .map((side) => describeErrors(`${id}. ${side === 'store' ? names[0] : names[1]}`, comparison[side])),
  );
  return lines.length === 0 ? [] : ['', 'Errors under load:', ...lines];
}

function describeErrors(where: string, measurement: Measurement): string {
  return `- ${where}: ${measurement.errors} failed operation(s); first: \`${measurement.firstError}\``;
}

function failedChecks(scenarios: ScenarioResult[], scaling: ScalingResult): string[] {
  const failed = failedScenarios(scenarios);
  const scale = opsPerSecond(scaling.many.store) / opsPerSecond(scaling.one.store);
  if (!passes(scale, scaling.target)) {
    failed.push(`store scaling 32 ÷ 1 writers = ${scale.toFixed(2)} (< ${scaling.target})`);
  }
  return failed;
}

function failedScenarios(scenarios: ScenarioResult[]): string[] {
  return scenarios
    .filter(({ target, strict, comparison: { store, raw } }) => !passes(eventsPerSecond(store) / eventsPerSecond(raw), target, strict))
    .map(({ id, label, target, strict }) => `${id}. ${label} (ratio ${strict ? '≤' : '<'} ${target})`);
}

/** The ratio, target and verdict cells of a row. */
function check(ratio: number, target: number | undefined, strict = false): string[] {
  const ratioText = Number.isFinite(ratio) ? ratio.toFixed(2) : 'n/a';
  if (target === undefined) {
    return [ratioText, '—', 'report only'];
  }
  return [ratioText, `${strict ? '>' : '≥'} ${target}`, passes(ratio, target, strict) ? 'pass' : '**FAIL**'];
}

function passes(ratio: number, target: number | undefined, strict = false): boolean {
  return target === undefined || (Number.isFinite(ratio) && (strict ? ratio > target : ratio >= target));
}

function table(headings: string[], rows: string[][]): string[] {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(headings), line(headings.map(() => '---')), ...rows.map(line)];
}

function percent(share: number): string {
  return `${Math.round(share * 100)}%`;
}

function format(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a';
}

/** Subscription measurements (issue #4), as Markdown. */
export function renderSubscriptionReport(
  latency: LatencyResult,
  catchUp: CatchUpResult,
  memory: MemoryResult,
  idle: IdleSubscriptionsResult,
): string {
  const alone = (idle.beforeMs + idle.afterMs) / 2;
  const added = idle.withMs / alone - 1;
  const ratio = catchUp.storeEventsPerSecond / catchUp.rawEventsPerSecond;
  const [small, large] = memory.backlogs;
  const flat = small !== undefined && large !== undefined && large.heapGrowthMb <= small.heapGrowthMb + 10;
  const rows = [
    [
      `append-to-handler latency, ${format(latency.ratePerSecond)} events/s, subscriber in another store instance`,
      `p50 ${latency.p50Ms.toFixed(1)} ms, p99 ${latency.p99Ms.toFixed(1)} ms, max ${latency.maxMs.toFixed(1)} ms (${format(latency.events)} events)`,
      'p99 < 50 ms',
      latency.p99Ms < 50 ? 'pass' : '**FAIL**',
    ],
    [
      `catch-up through ${format(catchUp.events)} stored events`,
      `${format(catchUp.storeEventsPerSecond)} events/s; raw SELECT paging ${format(catchUp.rawEventsPerSecond)} events/s; ratio ${ratio.toFixed(2)}`,
      '≥ 0.5 × raw',
      ratio >= 0.5 ? 'pass' : '**FAIL**',
    ],
    [
      'heap growth, slow subscriber (1 ms per event) facing a backlog',
      memory.backlogs.map((b) => `${format(b.events)} events: +${b.heapGrowthMb.toFixed(1)} MB (${format(b.handled)} handled)`).join('; '),
      'flat (within 10 MB)',
      flat ? 'pass' : '**FAIL**',
    ],
    [
      `append p50 beside ${format(idle.subscriptions)} idle persistent subscriptions in the process, 1 writer`,
      `${idle.withMs.toFixed(2)} ms; alone ${idle.beforeMs.toFixed(2)} ms before, ${idle.afterMs.toFixed(2)} ms after; ${(added * 100).toFixed(1)}% added`,
      '< 20% added',
      added < 0.2 ? 'pass' : '**FAIL**',
    ],
  ];
  return ['', '## Subscriptions', '', ...table(['measurement', 'result', 'target', 'pass/fail'], rows), ''].join('\n');
}

/** One HTTP scenario, and the least HTTP ÷ library ratio it must reach (none: report only). */
export interface HttpScenarioResult {
  id: string;
  label: string;
  comparison: HttpComparison;
  target?: number;
}

/** The service over HTTP beside the library in-process, as Markdown. */
export function renderHttpReport(scenarios: HttpScenarioResult[], info: { main: string; schema: string; poolSize: number }): string {
  const failed = failedHttpChecks(scenarios);
  return [
    '',
    '## HTTP service',
    '',
    `- Service: \`node ${info.main}\` as a child process, NODE_ENV=development (no tokens), pool ${info.poolSize}, schema ${info.schema}`,
    `- Library: a store in this process on the same schema, pool ${info.poolSize}; load: autocannon in this process, one request in flight per connection`,
    '',
    ...table(
      ['scenario', 'library ops/s', 'HTTP req/s', 'ratio', 'target', 'pass/fail'],
      scenarios.map(({ id, label, comparison: { library, http }, target }) => [
        `${id}. ${label}`,
        format(opsPerSecond(library)),
        format(opsPerSecond(http)),
        ...check(opsPerSecond(http) / opsPerSecond(library), target),
      ]),
    ),
    '',
    'ratio = HTTP req/s ÷ library ops/s (2xx answers only); latency = as the client saw it (autocannon, or around the library call).',
    'CPU = CPU time ÷ wall time, 100% = one core: client = this process (the library, or autocannon), service = the child process,',
    'machine = all busy cores (PostgreSQL included).',
    '',
    ...table(
      ['scenario', 'side', 'loops', 'ops/s', 'p50 ms', 'p99 ms', 'max ms', 'errors', 'non-2xx', 'client CPU', 'service CPU', 'machine CPU'],
      scenarios.flatMap(({ id, comparison }) => [
        httpDetailRow(id, 'library', comparison.library),
        httpDetailRow(id, 'HTTP', comparison.http),
      ]),
    ),
    ...httpErrorLines(scenarios),
    '',
    failed.length === 0 ? '**All HTTP targets met.**' : `**HTTP targets failed: ${failed.join('; ')}.**`,
    '',
  ].join('\n');
}

function httpDetailRow(id: string, side: string, measurement: LoadMeasurement): string[] {
  const { p50, p99, max } = percentiles(measurement.latenciesMs);
  return [
    id,
    side,
    String(measurement.concurrency),
    format(opsPerSecond(measurement)),
    p50.toFixed(2),
    p99.toFixed(2),
    max.toFixed(1),
    String(measurement.errors),
    side === 'HTTP' ? String(measurement.non2xx) : '—',
    percent(measurement.clientCpu),
    Number.isFinite(measurement.serviceCpu) ? percent(measurement.serviceCpu) : '—',
    Number.isFinite(measurement.machineCpu) ? percent(measurement.machineCpu) : 'n/a',
  ];
}

function httpErrorLines(scenarios: HttpScenarioResult[]): string[] {
  const lines = scenarios.flatMap(({ id, comparison }) =>
    (['library', 'http'] as const)
      .filter((side) => comparison[side].errors + comparison[side].non2xx > 0)
      .map((side) => {
        const { errors, non2xx, firstError } = comparison[side];
        return `- ${id}. ${side}: ${errors} error(s), ${non2xx} non-2xx answer(s); first: \`${firstError}\``;
      }),
  );
  return lines.length === 0 ? [] : ['', 'Errors under load:', ...lines];
}

/** A missed ratio, and any request of the HTTP side that failed or was answered outside 2xx. */
function failedHttpChecks(scenarios: HttpScenarioResult[]): string[] {
  return scenarios.flatMap(({ id, label, target, comparison: { library, http } }) => [
    ...(passes(opsPerSecond(http) / opsPerSecond(library), target) ? [] : [`${id}. ${label} (ratio < ${target})`]),
    ...(http.errors + http.non2xx === 0 ? [] : [`${id}. ${http.errors} failed request(s) and ${http.non2xx} non-2xx answer(s) over HTTP`]),
  ]);
}

/** The consistency-across-streams section: conditional and multi-stream appends, the tag-filtered read. */
export interface ConsistencyReport {
  /** Conditional ÷ plain appends, multi-stream ÷ single appends (store side first, as labelled). */
  appends: ScenarioResult[];
  /** The tag-filtered read, store ÷ raw. */
  tagRead: ScenarioResult;
  schema: string;
  tag: string;
  seed: SeedResult;
  /** The VACUUM (ANALYZE) of the seeded tables before the reads. */
  vacuumSeconds: number;
  /** One reader, one pass each: the store's and raw SQL's tag-filtered reads, the store's unfiltered $all. */
  passes: { store: PassResult; raw: PassResult; unfiltered: PassResult };
  seconds: number;
  warmupSeconds: number;
  poolSize: number;
}

/** What the consistency section calls the two sides of a comparison. */
const SIDES = ['measured', 'baseline'] as const;

/** Appends and tag reads across streams (PRODUCT.md, "Consistency across streams"), as Markdown. */
export function renderConsistencyReport(report: ConsistencyReport): string {
  const { seed, passes: pass, tagRead } = report;
  const scenarios = [...report.appends, tagRead];
  const failed = failedScenarios(scenarios);
  const missing = pass.unfiltered.tagged !== seed.tagged || pass.store.events !== seed.tagged || pass.raw.events !== seed.tagged;
  if (missing) {
    failed.push(`the tag reads found ${pass.store.events} (store) and ${pass.raw.events} (raw) of ${seed.tagged} tagged events`);
  }
  const passRow = (what: string, result: PassResult): string[] => [
    what,
    format(result.events),
    format(result.pages),
    seconds(result.seconds),
    format(result.events / result.seconds),
  ];
  return [
    '',
    '## Consistency across streams',
    '',
    `- BENCH_SECONDS: ${report.seconds} per measurement, after a ${report.warmupSeconds} s warm-up; store pool ${report.poolSize} connections`,
    `- k–m: on the benchmark's store schema. n: on schema ${report.schema} (dropped after it), seeded through the library with`,
    `  ${format(seed.events)} events in ${format(seed.batch)}-event appends from ${seed.writers} writers, 1 in ${seed.every} tagged \`${report.tag}\` (${format(seed.tagged)} tagged):`,
    `  ${seconds(seed.seconds)}, ${format(seed.events / seed.seconds)} events/s; then VACUUM (ANALYZE) of its tables, ${seconds(report.vacuumSeconds)}`,
    '',
    ...table(['scenario', 'ops/s', 'baseline ops/s', 'ratio', 'target', 'pass/fail'], scenarioRows(scenarios)),
    '',
    "ratio = events/s ÷ the baseline's events/s, each measured in alternating slices of the same run. k, l: appends whose event",
    'carries 2 tags of its own and a condition on them that matches nothing, ÷ the same appends without tags or condition.',
    'm: ops = units of 3 events, one appendToStreams of 3 streams × 1 event ÷ three appendToStream calls to the same 3 existing',
    'streams one after another (expected version any). n: ops = 1000-event pages; the baseline is a raw SELECT of event_tags',
    'JOIN events in $all order, paged by (transaction_id, global_position), no checks.',
    '',
    ...detailTable(scenarios, SIDES),
    ...errorLines(scenarios, SIDES),
    '',
    `One pass each, 1 reader, over schema ${report.schema} ($all = ${format(seed.events)} events):`,
    '',
    ...table(
      ['read', 'events', 'pages', 'time', 'events/s'],
      [
        passRow(`store, filter.tags [${report.tag}]`, pass.store),
        passRow(`raw SQL, event_tags JOIN events`, pass.raw),
        passRow(`store, unfiltered $all (${format(pass.unfiltered.tagged)} tagged among them)`, pass.unfiltered),
      ],
    ),
    '',
    `The unfiltered scan takes ${(pass.unfiltered.seconds / pass.store.seconds).toFixed(0)}× the time of the tag-filtered read for the same ` +
      `${format(seed.tagged)} events: the filtered read costs in proportion to the matches.`,
    '',
    failed.length === 0 ? '**All consistency targets met.**' : `**Consistency targets failed: ${failed.join('; ')}.**`,
    '',
  ].join('\n');
}

function seconds(value: number): string {
  return value < 1 ? `${(value * 1000).toFixed(0)} ms` : `${value.toFixed(1)} s`;
}

/** One batch size of the projection catch-up: both runs of each side, alternating. */
export interface CatchUpPair {
  id: string;
  batchSize: number;
  store: CatchUpRun[];
  raw: CatchUpRun[];
  /** Whether each pair of runs left the same rows in both read models (`differing` rows, 0 when so). */
  checks: Array<{ run: string; rows: number; differing: number }>;
  target: number;
}

/** The event-sourcing section: projections catching up, aggregates handling commands. */
export interface SourcingReport {
  schema: string;
  seed: BacklogSeed;
  vacuumSeconds: number;
  pollMs: number;
  /** The machine's 1-minute load average at the start and at the end of the section. */
  loadAverage: string;
  catchUps: CatchUpPair[];
  aggregates: { id: string; snapshotEvery: number; results: AggregateLatency[] };
  seconds: number;
  warmupSeconds: number;
  poolSize: number;
}

/** Event sourcing on top of streams (PRODUCT.md): projections and aggregates, as Markdown. */
export function renderSourcingReport(report: SourcingReport): string {
  const { seed } = report;
  const failed: string[] = [];
  const summary = report.catchUps.map((pair) => {
    const store = median(pair.store.map((run) => run.eventsPerSecond));
    const raw = median(pair.raw.map((run) => run.eventsPerSecond));
    const label = `${pair.id}. store ÷ raw: projection catch-up over ${format(seed.events)} events, batchSize ${pair.batchSize}`;
    if (!passes(store / raw, pair.target)) failed.push(`${label} (ratio < ${pair.target})`);
    const wrong = pair.checks.filter((check) => check.differing !== 0);
    if (wrong.length > 0) failed.push(`${pair.id}. read models differ (${wrong.map((c) => `${c.run}: ${c.differing} rows`).join(', ')})`);
    return [label, runsCell(pair.store), runsCell(pair.raw), ...check(store / raw, pair.target)];
  });
  const runRows = report.catchUps.flatMap((pair) =>
    pair.store.flatMap((run, index) => [catchUpRow(pair.id, run, index + 1), catchUpRow(pair.id, pair.raw[index]!, index + 1)]),
  );
  const { id, snapshotEvery, results } = report.aggregates;
  const aggregateRows = results.map(({ concurrency, handle, append }) => {
    const [h, a] = [percentiles(handle.latenciesMs), percentiles(append.latenciesMs)];
    return [
      `${id}. ${concurrency}`,
      h.p50.toFixed(2),
      h.p99.toFixed(2),
      format(opsPerSecond(handle)),
      a.p50.toFixed(2),
      a.p99.toFixed(2),
      format(opsPerSecond(append)),
      (h.p50 / a.p50).toFixed(2),
      `${handle.errors} / ${append.errors}`,
    ];
  });
  const aggregateErrors = results.flatMap(({ concurrency, handle, append }) =>
    [
      ['handle', handle],
      ['appendToStream', append],
    ]
      .filter(([, side]) => (side as AggregateLatency['handle']).errors > 0)
      .map(([what, side]) => {
        const { errors, firstError } = side as AggregateLatency['handle'];
        return `- ${id}. ${what}, ${concurrency} callers: ${errors} error(s); first: \`${firstError}\``;
      }),
  );
  return [
    '',
    '## Event sourcing on top of streams',
    '',
    `- On schema ${report.schema} (dropped after it): a backlog of ${format(seed.events)} events (${BACKLOG_TYPES.join(', ')}) over`,
    `  ${format(seed.streams)} streams (players), written through the library in appends of ${seed.perAppend} events (two games of a player) from`,
    `  ${seed.writers} writers going round their players: ${seconds(seed.seconds)}, ${format(seed.events / seed.seconds)} events/s; all in $all ${seconds(seed.visibleAfter)} later;`,
    `  then VACUUM (ANALYZE) of its tables, ${seconds(report.vacuumSeconds)}. Load average of the machine ${report.loadAverage}`,
    `- Store: a Nest app (EventStoreModule.forRoot, pool ${report.poolSize}) with one @Projection provider, unfiltered, upserting one row per`,
    "  player per event through tx.query; timed from the app's boot to `projectionStatus(name).checkpoint` at the end of the backlog.",
    '  Raw: plain pg on the same events table, pages in (transaction_id, global_position) order, each page one transaction with the',
    '  same upserts (same SQL text and values) into a table of the same shape plus a checkpoint row update; timed from creating its',
    '  table to its checkpoint row (read with a count of the events after it, as the status does) at the end.',
    `  Both polled every ${report.pollMs} ms; each side run twice per batch size, alternating store, raw, store, raw; each run on fresh tables.`,
    '',
    ...table(['scenario', 'store events/s (median; runs)', 'raw events/s (median; runs)', 'ratio', 'target', 'pass/fail'], summary),
    '',
    'ratio = median store events/s ÷ median raw events/s; spread = (max − min) ÷ median of the two runs.',
    'upsert ms/event = the upserts awaited in the handler (store) or the loop (raw) ÷ events; other ms/batch = the rest of the',
    'wall time ÷ batches (the read, BEGIN, checkpoint, COMMIT, connection hand-over, and on the store the boot). CPU = CPU time per',
    'batch, and ÷ wall time (100% = one core): client = this process, server = the benchmark backends of PostgreSQL (polls included).',
    '',
    ...table(
      [
        'scenario',
        'side',
        'run',
        'time',
        'boot',
        'events/s',
        'upsert ms/event',
        'other ms/batch',
        'raw read ms/batch',
        'client CPU',
        'server CPU',
      ],
      runRows,
    ),
    '',
    `Aggregate \`handle\` (a counter, snapshot every ${snapshotEvery} events; 4 statements: snapshot read, stream read after it, append,`,
    `read-back of the appended event, and a snapshot write every ${snapshotEvery}th), each caller on an aggregate of its own, beside 1-event`,
    `appendToStream calls (expected version any), each caller on a stream of its own; alternating slices, ${report.seconds} s per side after`,
    `a ${report.warmupSeconds} s warm-up of each. Report only.`,
    '',
    ...table(
      [
        'scenario: callers',
        'handle p50 ms',
        'handle p99 ms',
        'handles/s',
        'append p50 ms',
        'append p99 ms',
        'appends/s',
        'p50 handle ÷ append',
        'errors',
      ],
      aggregateRows,
    ),
    ...(aggregateErrors.length === 0 ? [] : ['', 'Errors:', ...aggregateErrors]),
    '',
    failed.length === 0 ? '**All event-sourcing targets met.**' : `**Event-sourcing targets failed: ${failed.join('; ')}.**`,
    '',
  ].join('\n');
}

function catchUpRow(id: string, run: CatchUpRun, index: number): string[] {
  const { times } = run;
  const other = (run.seconds - times.upsertSeconds) / Math.max(1, times.batches);
  return [
    id,
    run.side,
    String(index),
    seconds(run.seconds),
    run.bootSeconds === undefined ? '—' : seconds(run.bootSeconds),
    format(run.eventsPerSecond),
    ((times.upsertSeconds * 1000) / times.events).toFixed(3),
    (other * 1000).toFixed(2),
    times.readSeconds === undefined ? '—' : ((times.readSeconds * 1000) / Math.max(1, times.batches)).toFixed(2),
    cpuCell(run.clientCpu, run),
    Number.isFinite(run.serverCpu) ? cpuCell(run.serverCpu, run) : 'n/a',
  ];
}

/** CPU of a run as ms per batch, and as a share of its wall time. */
function cpuCell(share: number, run: CatchUpRun): string {
  return `${((share * run.seconds * 1000) / Math.max(1, run.times.batches)).toFixed(2)} (${percent(share)})`;
}

/** `median (a, b; spread x%)` of the runs' events/s. */
function runsCell(runs: CatchUpRun[]): string {
  const rates = runs.map((run) => run.eventsPerSecond);
  const mid = median(rates);
  const spread = (Math.max(...rates) - Math.min(...rates)) / mid;
  return `${format(mid)} (${rates.map(format).join(', ')}; spread ${(spread * 100).toFixed(1)}%)`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The tracing section's measurements (see tracing-scenarios.ts). */
export interface TracingReport {
  context: Comparison;
  dropped: Comparison;
  otlp: Comparison;
  droppedSpans: number;
  otlpBytes: number;
  off: { tracedNs: number; bareNs: number };
  seconds: number;
  warmupSeconds: number;
}

/** The tracing section: appends with tracing on beside off, and what off costs per call. */
export function renderTracingReport(report: TracingReport): string {
  const scenarios: ScenarioResult[] = [
    { id: 't0', label: 'context manager alone (no tracer provider) ÷ off: 1-event appends, 8 writers', comparison: report.context },
    { id: 't1', label: 'tracing on, spans dropped ÷ off: 1-event appends, 8 writers', comparison: report.dropped },
    { id: 't2', label: 'tracing on, OTLP/HTTP to a local collector ÷ off: 1-event appends, 8 writers', comparison: report.otlp },
  ];
  const meanAppendNs = meanLatencyMs(report.dropped.raw) * 1e6;
  const offNs = report.off.tracedNs - report.off.bareNs;
  return [
    '',
    '## Tracing',
    '',
    `- BENCH_SECONDS: ${report.seconds} per measurement, after a ${report.warmupSeconds} s warm-up; the library in this process, its`,
    '  one-event appends with the OpenTelemetry SDK switched per slice: none registered (off), or a tracer provider with a batching',
    '  processor, the async-local-storage context manager and the W3C propagator, spans dropped by the exporter (t1) or sent by',
    '  the OTLP/HTTP exporter to a collector stand-in in this process (t2); t0 registers the context manager and propagator alone',
    '',
    ...table(['scenario', 'ops/s', 'off ops/s', 'ratio', 'target', 'pass/fail'], scenarioRows(scenarios)),
    '',
    ...detailTable(scenarios, ['on', 'off']),
    ...errorLines(scenarios, ['on', 'off']),
    '',
    `- spans exported: ${format(report.droppedSpans)} dropped (t1); ${format(report.otlpBytes)} bytes received by the collector stand-in (t2)`,
    `- tracing off, per traced call: ${report.off.tracedNs.toFixed(0)} ns beside ${report.off.bareNs.toFixed(0)} ns for the bare call, ` +
      `${offNs.toFixed(0)} ns more: ${((offNs / meanAppendNs) * 100).toFixed(3)}% of a mean off append (${(meanAppendNs / 1e6).toFixed(2)} ms, t1)`,
    '',
  ].join('\n');
}

/** The append-workloads section: store ÷ plain INSERT per workload, median of the rounds and their range. */
export function renderAppendWorkloads(rows: AppendRow[], info: { seconds: number; warmupSeconds: number; rounds: number }): string {
  const lines = rows.map((row) => {
    const { median, min, max } = sliceRatios(row);
    return [
      `${row.id}. ${row.label}`,
      format(eventsPerSecond(row.store)),
      format(eventsPerSecond(row.raw)),
      ...check(median, row.target),
      `${min.toFixed(2)}–${max.toFixed(2)}`,
      `${meanLatencyMs(row.store).toFixed(2)} / ${meanLatencyMs(row.raw).toFixed(2)}`,
    ];
  });
  const failed = rows.filter((row) => !passes(sliceRatios(row).median, row.target)).map((row) => `${row.id}. ${row.label}`);
  return [
    '',
    '## Append workloads: new and existing streams beside a plain INSERT',
    '',
    `- BENCH_SECONDS: ${info.seconds} per measurement in ${info.rounds} alternating slices per side, after a ${info.warmupSeconds} s warm-up`,
    '- store: `appendToStream(stream, any, [one event])`; raw: one single-row INSERT into a table shaped like the events table',
    '  (no stream row, no checksum, no version check). New stream per append: each append to a stream that did not exist.',
    '',
    ...table(
      ['workload', 'store events/s', 'raw events/s', 'median ratio', 'target', 'pass/fail', 'range of the rounds', 'mean ms store / raw'],
      lines,
    ),
    '',
    failed.length === 0 ? '**All append-workload targets met.**' : `**Append-workload targets failed: ${failed.join('; ')}.**`,
    '',
  ].join('\n');
}
