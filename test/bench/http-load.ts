import autocannon from 'autocannon';
import { readFile } from 'node:fs/promises';
import { describeError, type Operation } from './harness.js';

/** What one side (the service over HTTP, or the library in-process) achieved over its slices. */
export interface LoadMeasurement {
  /** Operations that succeeded (2xx over HTTP). */
  ops: number;
  /** Wall-clock time of the slices, connection set-up and in-flight requests at the deadline included. */
  seconds: number;
  /** Concurrent loops, or autocannon connections. */
  concurrency: number;
  /** Latency of each successful operation, as the client saw it, in milliseconds. */
  latenciesMs: number[];
  /** Operations that threw, or requests that failed without a response (timeouts included); warm-up included. */
  errors: number;
  /** Responses with a status outside 2xx; warm-up included. */
  non2xx: number;
  /** The first error or non-2xx answer. */
  firstError?: string;
  /** CPU of the benchmark process (library or load generator) ÷ wall time; 1 is one core. */
  clientCpu: number;
  /** CPU of the service process ÷ wall time; NaN for the library side. */
  serviceCpu: number;
  /** Busy CPU of the whole machine (PostgreSQL, service, client and anything else) ÷ wall time. */
  machineCpu: number;
}

/** One side of a comparison: runs its load for `seconds` and reports what happened. */
export type LoadSide = (seconds: number) => Promise<LoadMeasurement>;

/** Latency percentiles of a measurement, in milliseconds. */
export interface Percentiles {
  p50: number;
  p99: number;
  max: number;
}

/** USER_HZ, the unit of /proc/stat: 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS = 100;

/** Results of one slice before CPU is attached. */
type Slice = Omit<LoadMeasurement, 'clientCpu' | 'serviceCpu' | 'machineCpu'>;

/**
 * Measures two sides in alternating slices after a warm-up of each, as `measurePair` in the
 * harness does: what drifts during the run (table growth, checkpoints) weighs on both alike.
 */
export async function alternate(
  first: LoadSide,
  second: LoadSide,
  settings: { seconds: number; warmupSeconds: number; rounds: number },
): Promise<[LoadMeasurement, LoadMeasurement]> {
  const warmups = [await first(settings.warmupSeconds), await second(settings.warmupSeconds)];
  const slices: [LoadMeasurement[], LoadMeasurement[]] = [[], []];
  const slice = settings.seconds / settings.rounds;
  for (let round = 0; round < settings.rounds; round++) {
    for (const side of round % 2 === 0 ? [0, 1] : [1, 0]) {
      slices[side]!.push(await (side === 0 ? first : second)(slice));
    }
  }
  return [combine(warmups[0]!, slices[0]), combine(warmups[1]!, slices[1])];
}

/** `op` in `concurrency` in-process loops, each operation timed. */
export function librarySide(concurrency: number, op: Operation): LoadSide {
  return (seconds) => withCpu(undefined, () => runLoops(op, concurrency, seconds));
}

/** HTTP requests from autocannon, `connections` of them, each with one request in flight. */
export interface HttpLoad {
  url: string;
  connections: number;
  /** A fresh request plan per slice (autocannon's `requests`, with `setupRequest` to vary them). */
  requests: () => autocannon.Request[];
  /** CPU seconds of the service so far, to attribute CPU per slice. */
  serviceCpuSeconds: () => Promise<number>;
}

/** The service under `load`. */
export function httpSide(load: HttpLoad): LoadSide {
  return (seconds) => withCpu(load.serviceCpuSeconds, () => runAutocannon(load, seconds));
}

/** Median, 99th percentile and maximum of the latencies. */
export function percentiles(latenciesMs: number[]): Percentiles {
  const sorted = Float64Array.from(latenciesMs).sort();
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return { p50: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? Number.NaN };
}

async function runLoops(op: Operation, concurrency: number, seconds: number): Promise<Slice> {
  const slice: Slice = { ops: 0, seconds: 0, concurrency, latenciesMs: [], errors: 0, non2xx: 0 };
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const loop = async (worker: number): Promise<void> => {
    while (performance.now() < deadline) {
      const begun = performance.now();
      try {
        await op(worker);
        slice.latenciesMs.push(performance.now() - begun);
        slice.ops += 1;
      } catch (error) {
        slice.errors += 1;
        slice.firstError ??= describeError(error);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, worker) => loop(worker)));
  slice.seconds = (performance.now() - started) / 1000;
  return slice;
}

async function runAutocannon(load: HttpLoad, seconds: number): Promise<Slice> {
  const slice: Slice = { ops: 0, seconds: 0, concurrency: load.connections, latenciesMs: [], errors: 0, non2xx: 0 };
  const requests = load.requests().map((request) => ({ ...request, onResponse: noteFailure(slice, request.onResponse) }));
  const started = performance.now();
  await new Promise<void>((done, fail) => {
    // A short sampling interval: autocannon stops at the first sample after the deadline.
    const options = { url: load.url, connections: load.connections, duration: seconds, sampleInt: 100, timeout: 30, requests };
    const instance = autocannon(options, (error: unknown) => (error ? fail(error) : done()));
    instance.on('response', (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) {
        slice.ops += 1;
        slice.latenciesMs.push(ms);
      } else {
        slice.non2xx += 1;
      }
    });
    instance.on('reqError', (error: unknown) => {
      slice.errors += 1;
      slice.firstError ??= describeError(error);
    });
  });
  slice.seconds = (performance.now() - started) / 1000;
  return slice;
}

type OnResponse = (status: number, body: string, context: object, headers: autocannon.Request['headers']) => void;

/** Keeps the first non-2xx answer's body (cut short), then calls the plan's own `onResponse`. */
function noteFailure(slice: Slice, next: autocannon.Request['onResponse']): OnResponse {
  return (status, body, context, headers) => {
    if ((status < 200 || status >= 300) && slice.firstError === undefined) {
      slice.firstError = `HTTP ${status}: ${body.slice(0, 300)}`;
    }
    if (typeof next === 'function') next(status, body, context, headers);
  };
}

/** Runs `work` and attaches the CPU of this process, of the service and of the machine over it. */
async function withCpu(serviceCpuSeconds: (() => Promise<number>) | undefined, work: () => Promise<Slice>): Promise<LoadMeasurement> {
  const client = process.cpuUsage();
  const service = (await serviceCpuSeconds?.()) ?? Number.NaN;
  const machine = await machineBusySeconds();
  const slice = await work();
  const clientUsage = process.cpuUsage(client);
  const serviceAfter = (await serviceCpuSeconds?.()) ?? Number.NaN;
  const machineAfter = await machineBusySeconds();
  return {
    ...slice,
    clientCpu: (clientUsage.user + clientUsage.system) / 1e6 / slice.seconds,
    serviceCpu: (serviceAfter - service) / slice.seconds,
    machineCpu: (machineAfter - machine) / slice.seconds,
  };
}

/** CPU seconds all cores have spent busy since boot (Linux /proc/stat; NaN elsewhere). */
async function machineBusySeconds(): Promise<number> {
  try {
    const [line] = (await readFile('/proc/stat', 'utf8')).split('\n');
    const ticks = line!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: idle and iowait are not busy.
    const busy = ticks.slice(0, 8).reduce((sum, value, index) => (index === 3 || index === 4 ? sum : sum + value), 0);
    return busy / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/** Slices of one side as one measurement; warm-up errors count, its operations do not. */
function combine(warmup: LoadMeasurement, slices: LoadMeasurement[]): LoadMeasurement {
  const seconds = slices.reduce((sum, m) => sum + m.seconds, 0);
  const weighted = (pick: (m: LoadMeasurement) => number): number => slices.reduce((sum, m) => sum + pick(m) * m.seconds, 0) / seconds;
  return {
    ops: slices.reduce((sum, m) => sum + m.ops, 0),
    seconds,
    concurrency: warmup.concurrency,
    latenciesMs: slices.flatMap((m) => m.latenciesMs),
    errors: warmup.errors + slices.reduce((sum, m) => sum + m.errors, 0),
    non2xx: warmup.non2xx + slices.reduce((sum, m) => sum + m.non2xx, 0),
    firstError: warmup.firstError ?? slices.find((m) => m.firstError)?.firstError,
    clientCpu: weighted((m) => m.clientCpu),
    serviceCpu: weighted((m) => m.serviceCpu),
    machineCpu: weighted((m) => m.machineCpu),
  };
}
