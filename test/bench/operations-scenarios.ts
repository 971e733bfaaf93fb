import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchEnvironment } from './environment.js';

/** One measured run of an operation, in a process of its own. */
export interface OperationRun {
  events: number;
  seconds: number;
  maxRssKb: number;
}

/** Export and import beside raw COPY, at one store size. */
export interface OperationsAtSize {
  events: number;
  fileBytes: number;
  copyOut: OperationRun[];
  exports: OperationRun[];
  copyIn: OperationRun;
  imports: OperationRun;
}

/** Store sizes of the section: 100k, and BENCH_EXPORT_EVENTS (default 1,000,000). */
export function operationSizes(): number[] {
  const large = Number(process.env.BENCH_EXPORT_EVENTS ?? 1_000_000);
  if (!Number.isSafeInteger(large) || large < 100_000) throw new Error(`BENCH_EXPORT_EVENTS must be an integer >= 100000, got ${large}`);
  return large === 100_000 ? [100_000] : [100_000, large];
}

const OPERATION_MAIN = new URL('./operation-process.js', import.meta.url).pathname;

/** Runs `operation-process.js kind schema file table` and reads its one JSON line. */
function runOperation(environment: BenchEnvironment, kind: string, schema: string, file: string, table = 'events'): Promise<OperationRun> {
  const { host, port, user, password, database } = environment.connection;
  const env = {
    ...process.env,
    EVENT_STORE_HOST: host,
    EVENT_STORE_PORT: String(port),
    EVENT_STORE_USER: user,
    EVENT_STORE_PASS: password,
    EVENT_STORE_DB: database,
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [OPERATION_MAIN, kind, schema, file, table], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(stdout) as OperationRun) : reject(new Error(`${kind} on ${schema} exited with ${code}`)),
    );
  });
}

/**
 * `events` events over `events / 10` streams, written at COPY speed with the checksums appends
 * give them (the bench measures export and import, not appends).
 */
async function seed(environment: BenchEnvironment, schema: string, events: number): Promise<void> {
  const streams = events / 10;
  await environment.raw.query(
    `INSERT INTO "${schema}".streams (stream_id, version) SELECT 'game-' || g, 10 FROM generate_series(1, ${streams}) g`,
  );
  await environment.raw.query(
    `INSERT INTO "${schema}".events (stream_id, stream_version, event_id, event_type, schema_version, data, metadata, checksum)
     SELECT s, v, id, 'GuessMade', 1, d, m, sha256(convert_to(concat_ws(E'\\x1f', s, v::text, id::text, 'GuessMade', '1', d::text, m::text, '', ''), 'UTF8'))
       FROM (SELECT 'game-' || (i % ${streams} + 1) AS s, i / ${streams} + 1 AS v, gen_random_uuid() AS id,
                    json_build_object('guess', 'crane', 'player', 'player-' || (i % 977), 'score', i % 97) AS d,
                    json_build_object('correlation', 'bench') AS m
               FROM generate_series(0, ${events - 1}) i) x`,
  );
  await environment.raw.query(`VACUUM (ANALYZE) "${schema}".events, "${schema}".streams`);
  // The seed's and the vacuum's dirty pages written out now, not during the first measured runs
  // (CHECKPOINT needs a superuser or pg_checkpoint: without either, the runs go on without it).
  await environment.raw.query('CHECKPOINT').catch((error: unknown) => {
    if ((error as { code?: string }).code !== '42501') throw error;
  });
}

/** How many times export and COPY out each run (alternating), for their medians. */
const ROUNDS = 3;

/**
 * Export and import of stores of each size beside raw COPY out of (and into) the same table, each
 * run in a process of its own for its peak memory; export and COPY out alternate, three times each.
 */
export async function measureOperations(
  environment: BenchEnvironment,
  progress: (line: string) => void,
): Promise<{ sizes: OperationsAtSize[]; loadAverage: string }> {
  const loadBefore = loadavg()[0]!;
  const dir = await mkdtemp(join(tmpdir(), 'bench-operations-'));
  const sizes: OperationsAtSize[] = [];
  try {
    for (const events of operationSizes()) {
      const schema = `${environment.storeSchema}_ops_${events}`;
      const source = await environment.openScratchStore(schema);
      const target = await environment.openScratchStore(`${schema}_in`);
      try {
        progress(`      seeding ${events.toLocaleString('en-US')} events on ${schema}...`);
        await seed(environment, schema, events);
        const [raw, ndjson] = [join(dir, `${events}.copy`), join(dir, `${events}.ndjson`)];
        const copyOut: OperationRun[] = [];
        const exports: OperationRun[] = [];
        for (let round = 1; round <= ROUNDS; round++) {
          copyOut.push(await runOperation(environment, 'copy-out', schema, raw));
          exports.push(await runOperation(environment, 'export', schema, ndjson));
          progress(`      ${events}: COPY out ${describe(copyOut.at(-1)!)}; export ${describe(exports.at(-1)!)}`);
        }
        const imports = await runOperation(environment, 'import', target.schema, ndjson);
        await environment.raw.query(
          `CREATE TABLE "${schema}_in".raw_events (LIKE "${schema}".events INCLUDING DEFAULTS INCLUDING INDEXES)`,
        );
        await environment.raw.query(`ALTER TABLE "${schema}_in".raw_events ALTER COLUMN transaction_id DROP DEFAULT`);
        const copyIn = await runOperation(environment, 'copy-in', target.schema, raw, 'raw_events');
        progress(`      ${events}: COPY in ${describe(copyIn)}; import ${describe(imports)}`);
        sizes.push({ events, fileBytes: (await stat(ndjson)).size, copyOut, exports, copyIn, imports });
      } finally {
        await target.close();
        await source.close();
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return {
    sizes,
    loadAverage: `${loadBefore.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end (${availableParallelism()} cores)`,
  };
}

function describe(run: OperationRun): string {
  return `${Math.round(run.events / run.seconds)} events/s, ${Math.round(run.maxRssKb / 1024)} MiB peak`;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const rate = (run: OperationRun): number => run.events / run.seconds;
const mib = (kb: number): string => (kb / 1024).toFixed(0);

/** Export at least half as fast as raw COPY out; peak memory at the largest size within 25% of 100k's. */
export const EXPORT_TARGET = 0.5;
export const MEMORY_GROWTH_LIMIT = 1.25;

/** The section's Markdown. */
export function renderOperationsReport(report: { sizes: OperationsAtSize[]; loadAverage: string }): string {
  const rows = report.sizes.map((size) => {
    const exportRatio = median(size.exports.map(rate)) / median(size.copyOut.map(rate));
    return (
      `| ${size.events.toLocaleString('en-US')} | ${(size.fileBytes / 1024 / 1024).toFixed(0)} | ` +
      `${size.copyOut.map((run) => Math.round(rate(run))).join(', ')} | ${size.exports.map((run) => Math.round(rate(run))).join(', ')} | ` +
      `**${exportRatio.toFixed(2)}** ${exportRatio >= EXPORT_TARGET ? 'pass' : 'FAIL'} | ${size.exports.map((run) => mib(run.maxRssKb)).join(', ')} | ` +
      `${Math.round(rate(size.copyIn))} | ${Math.round(rate(size.imports))} | ${(rate(size.imports) / rate(size.copyIn)).toFixed(2)} | ${mib(size.imports.maxRssKb)} |`
    );
  });
  const [small, large] = [report.sizes[0]!, report.sizes.at(-1)!];
  const growth = (pick: (size: OperationsAtSize) => number): number => pick(large) / pick(small);
  const exportGrowth = growth((size) => Math.max(...size.exports.map((run) => run.maxRssKb)));
  const importGrowth = growth((size) => size.imports.maxRssKb);
  const verdict = (value: number): string => `${value.toFixed(2)}x ${value <= MEMORY_GROWTH_LIMIT ? 'pass' : 'FAIL'}`;
  return [
    '',
    '## Export and import beside raw COPY',
    '',
    `Each run is a process of its own (\`test/bench/operation-process.ts\`): the store's \`exportEvents\` to an NDJSON file and`,
    '`importEvents` of that file into a fresh store, beside raw `COPY events TO STDOUT` into a file and `COPY ... FROM STDIN` of that file into',
    'a table of the same shape and indexes. Rates are events per second of the operation alone (the process boot excluded); peak memory is the',
    `process's maximum resident set. Export and COPY out alternate, ${ROUNDS} times each (after a CHECKPOINT of the seed). Load average ${report.loadAverage}.`,
    '',
    '| events | NDJSON MiB | COPY out events/s | export events/s | export ÷ COPY out (median, target ≥ 0.5) | export peak MiB | COPY in events/s | import events/s | import ÷ COPY in | import peak MiB |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    report.sizes.length > 1
      ? `Peak memory from ${small.events.toLocaleString('en-US')} to ${large.events.toLocaleString('en-US')} events (flat: at most ${MEMORY_GROWTH_LIMIT}x): export ${verdict(exportGrowth)}, import ${verdict(importGrowth)}.`
      : 'One size only (BENCH_EXPORT_EVENTS=100000): no memory growth to compare.',
    '',
  ].join('\n');
}
