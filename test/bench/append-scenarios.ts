import { eventsPerSecond, measurePair, type Measurement } from './harness.js';
import { appendEvents, benchEvents, type ScenarioContext, type TargetOperation } from './scenarios.js';

/** Alternating slices per side in this section: enough for a median and a spread. */
export const APPEND_ROUNDS = 6;

/** One workload of the section, store beside the plain single-row INSERT. */
export interface AppendRow {
  id: string;
  label: string;
  writers: number;
  target: number;
  store: Measurement;
  raw: Measurement;
}

/**
 * One-event appends, each to a stream of its own that did not exist (a new game is a new
 * stream): `prefix-worker-n`, n counting the loop's appends.
 */
export function appendToNewStreams(prefix: string): TargetOperation {
  let sequence = 0;
  return (target, worker) => target.append(`${prefix}-${worker}-${++sequence}`, benchEvents(1, worker, sequence));
}

/**
 * The append workloads of the speed issue, each the store's `appendToStream` beside the plain
 * single-row INSERT of the raw side (no stream row, no checksum), in {@link APPEND_ROUNDS}
 * alternating slices of one run: new stream per append and existing streams, 1 and 32 writers.
 */
export async function measureAppendWorkloads(context: ScenarioContext, progress: (line: string) => void): Promise<AppendRow[]> {
  const workloads = [
    { id: 'w1', label: 'new stream per append, 1 writer', writers: 1, target: 0.8, op: appendToNewStreams('w1') },
    { id: 'w2', label: 'new stream per append, 32 writers', writers: 32, target: 0.6, op: appendToNewStreams('w2') },
    { id: 'w3', label: 'existing streams, 1 writer', writers: 1, target: 0.8, op: appendEvents('w3', 1) },
    { id: 'w4', label: 'existing streams, 32 writers', writers: 32, target: 0.6, op: appendEvents('w4', 1) },
  ];
  const rows: AppendRow[] = [];
  for (const { op, ...workload } of workloads) {
    progress(`      ${workload.id}. ${workload.label} (store, then raw INSERT, ${APPEND_ROUNDS} slices each)...`);
    const settings = {
      concurrency: workload.writers,
      seconds: context.seconds,
      warmupSeconds: context.warmupSeconds,
      rounds: APPEND_ROUNDS,
    };
    const [store, raw] = await measurePair(
      (worker) => op(context.store, worker),
      (worker) => op(context.raw, worker),
      settings,
    );
    rows.push({ ...workload, store, raw });
    progress(`      ratio median ${sliceRatios({ store, raw }).median.toFixed(2)}`);
  }
  return rows;
}

/** The store ÷ raw ratio of each round (the slices run side by side in time), their median and range. */
export function sliceRatios({ store, raw }: Pick<AppendRow, 'store' | 'raw'>): {
  ratios: number[];
  median: number;
  min: number;
  max: number;
} {
  const ratios = (store.slices ?? [store]).map((slice, index) => eventsPerSecond(slice) / eventsPerSecond((raw.slices ?? [raw])[index]!));
  const sorted = [...ratios].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  const median = sorted.length % 2 === 1 ? sorted[Math.floor(middle)]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { ratios, median, min: sorted[0]!, max: sorted.at(-1)! };
}
