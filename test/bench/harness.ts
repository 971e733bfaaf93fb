/** What one timed run of concurrent loops achieved. */
export interface Measurement {
  /** Operations that succeeded. */
  ops: number;
  /** Events written or read by those operations. */
  events: number;
  /** Wall-clock time of the run, in-flight operations at the deadline included. */
  seconds: number;
  /** Concurrent loops. */
  concurrency: number;
  /** CPU time of this (client) process over `seconds`: 1 is one core busy the whole time. */
  clientCpu: number;
  /** Operations that threw, warm-up included. */
  errors: number;
  /** The first error's text, exactly as thrown. */
  firstError?: string;
  /** A measurement of alternating slices: each slice's own, in the order they ran. */
  slices?: Measurement[];
}

/** One operation of a loop; `worker` is the loop's index. Resolves to the events it wrote or read. */
export type Operation = (worker: number) => Promise<number>;

/** How long to run, and how many loops. */
export interface RunSettings {
  concurrency: number;
  seconds: number;
  warmupSeconds: number;
}

interface Tally {
  ops: number;
  events: number;
  errors: number;
  firstError?: string;
}

/**
 * Measures two operations in alternating slices (A B, B A, A B, ...), `rounds` slices each, after
 * a warm-up of each. Slices spread both sides over the same stretch of time, so that what drifts
 * during a run (table and index growth, checkpoints, autovacuum) weighs on both alike.
 */
export async function measurePair(
  first: Operation,
  second: Operation,
  settings: RunSettings & { rounds: number },
): Promise<[Measurement, Measurement]> {
  const slice = settings.seconds / settings.rounds;
  const warmups = [
    await runFor(first, settings.concurrency, settings.warmupSeconds),
    await runFor(second, settings.concurrency, settings.warmupSeconds),
  ];
  const slices: [Measurement[], Measurement[]] = [[], []];
  for (let round = 0; round < settings.rounds; round++) {
    const order = round % 2 === 0 ? [0, 1] : [1, 0];
    for (const side of order) {
      slices[side]!.push(await runFor(side === 0 ? first : second, settings.concurrency, slice));
    }
  }
  return [combine(warmups[0]!, slices[0]), combine(warmups[1]!, slices[1])];
}

/** One measurement of several slices: their operations, events, time and CPU added up. */
function combine(warmup: Measurement, slices: Measurement[]): Measurement {
  const seconds = slices.reduce((sum, m) => sum + m.seconds, 0);
  return {
    ops: slices.reduce((sum, m) => sum + m.ops, 0),
    events: slices.reduce((sum, m) => sum + m.events, 0),
    seconds,
    concurrency: warmup.concurrency,
    clientCpu: slices.reduce((sum, m) => sum + m.clientCpu * m.seconds, 0) / seconds,
    errors: warmup.errors + slices.reduce((sum, m) => sum + m.errors, 0),
    firstError: warmup.firstError ?? slices.find((m) => m.firstError)?.firstError,
    slices,
  };
}

/** Operations per second of a measurement. */
export function opsPerSecond(measurement: Pick<Measurement, 'ops' | 'seconds'>): number {
  return measurement.ops / measurement.seconds;
}

/** Events per second of a measurement. */
export function eventsPerSecond(measurement: Measurement): number {
  return measurement.events / measurement.seconds;
}

/** Mean time of one operation in milliseconds (Little's law: loops × time ÷ operations). */
export function meanLatencyMs(measurement: Measurement): number {
  return (measurement.concurrency * measurement.seconds * 1000) / measurement.ops;
}

/** An error as one line: class name, SQLSTATE or store code when there is one, and message. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) {
    return String(error);
  }
  const code = (error as { code?: unknown }).code;
  return `${error.name}${code === undefined ? '' : ` [${String(code)}]`}: ${error.message}`;
}

async function runFor(op: Operation, concurrency: number, seconds: number): Promise<Measurement> {
  const tally: Tally = { ops: 0, events: 0, errors: 0 };
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const deadline = started + seconds * 1000;
  const loops = Array.from({ length: concurrency }, (_, worker) => loop(op, worker, deadline, tally));
  await Promise.all(loops);
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return { ...tally, concurrency, seconds: elapsed, clientCpu: (cpu.user + cpu.system) / 1e6 / elapsed };
}

async function loop(op: Operation, worker: number, deadline: number, tally: Tally): Promise<void> {
  while (performance.now() < deadline) {
    try {
      // Awaited first: `tally.events += await ...` would read the total before the await and lose updates.
      const events = await op(worker);
      tally.events += events;
      tally.ops += 1;
    } catch (error) {
      tally.errors += 1;
      tally.firstError ??= describeError(error);
    }
  }
}
