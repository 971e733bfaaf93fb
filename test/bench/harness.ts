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

/** Runs `concurrency` loops of `op` for a warm-up, then for `seconds`, and measures the second run. */
export async function measure(op: Operation, settings: RunSettings): Promise<Measurement> {
  const warmup = await runFor(op, settings.concurrency, settings.warmupSeconds);
  const run = await runFor(op, settings.concurrency, settings.seconds);
  return {
    ...run,
    errors: warmup.errors + run.errors,
    firstError: warmup.firstError ?? run.firstError,
  };
}

/** Operations per second of a measurement. */
export function opsPerSecond(measurement: Measurement): number {
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
