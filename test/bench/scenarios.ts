import type { EventData } from '@game-bot/event-store';
import { measurePair, type Measurement, type Operation } from './harness.js';
import type { BenchTarget } from './targets.js';

/** The store and the raw baseline, measured the same way in the same run. */
export interface Comparison {
  store: Measurement;
  raw: Measurement;
}

/** One operation of a scenario, run against either target. */
export type TargetOperation = (target: BenchTarget, worker: number) => Promise<number>;

/** Both targets of one run, and how long each measurement lasts. */
export interface ScenarioContext {
  store: BenchTarget;
  raw: BenchTarget;
  seconds: number;
  warmupSeconds: number;
}

/** Events in the stream that the read scenarios page through. */
export const SEEDED_EVENTS = 10_000;
/** Events in one read page. */
export const PAGE_SIZE = 1_000;
/** Id of the seeded stream. */
export const READ_STREAM = 'bench-read';

/** Slices each side's measurement is cut into, alternating with the other side's. */
const ROUNDS = 4;

/** Measures `op` with `concurrency` loops on the store and on the baseline, in alternating slices. */
export async function compare(context: ScenarioContext, concurrency: number, op: TargetOperation): Promise<Comparison> {
  return comparePair(
    context,
    concurrency,
    (worker) => op(context.store, worker),
    (worker) => op(context.raw, worker),
  );
}

/**
 * Measures two operations the same way as {@link compare} (alternating slices): `first` lands in
 * the comparison's `store` side, `second` in its `raw` side, whatever they are.
 */
export async function comparePair(
  timing: Pick<ScenarioContext, 'seconds' | 'warmupSeconds'>,
  concurrency: number,
  first: Operation,
  second: Operation,
): Promise<Comparison> {
  const settings = { concurrency, seconds: timing.seconds, warmupSeconds: timing.warmupSeconds, rounds: ROUNDS };
  const [store, raw] = await measurePair(first, second, settings);
  return { store, raw };
}

/** Appends of `size` events, each loop to a stream of its own named after `prefix`. */
export function appendEvents(prefix: string, size: number): TargetOperation {
  let sequence = 0;
  return (target, worker) => target.append(`${prefix}-${worker}`, benchEvents(size, worker, (sequence += size)));
}

/** Reads of one page of a seeded stream from a random version; `streamOf` picks the stream per target. */
export function readStreamPages(streamOf: (target: BenchTarget) => string = () => READ_STREAM): TargetOperation {
  return async (target) => {
    const fromVersion = 1 + Math.floor(Math.random() * (SEEDED_EVENTS - PAGE_SIZE + 1));
    return (await target.readStream(streamOf(target), fromVersion, PAGE_SIZE)).length;
  };
}

/** Pages through `$all`, each loop with its own cursor, back to the start after the last page. */
export function readAllPages(): TargetOperation {
  const cursors = new Map<string, number>();
  return async (target, worker) => {
    const key = `${target.name}-${worker}`;
    const events = await target.readAll(cursors.get(key) ?? 0, PAGE_SIZE);
    const last = events.at(-1);
    cursors.set(key, events.length < PAGE_SIZE || last === undefined ? 0 : last.globalPosition);
    return events.length;
  };
}

/** Writes a stream the read scenarios use, in appends of 100 events. */
export async function seedReadStream(target: BenchTarget, streamId = READ_STREAM): Promise<void> {
  for (let written = 0; written < SEEDED_EVENTS; written += 100) {
    await target.append(streamId, benchEvents(100, 0, written));
  }
}

/** `count` events of about 200 bytes of JSON each, as a game would append them. */
export function benchEvents(count: number, worker: number, from: number): EventData[] {
  return Array.from({ length: count }, (_, index) => ({
    eventType: 'GuessProcessed',
    data: {
      worker,
      n: from + index,
      player: `player-${worker}`,
      guess: 'crane',
      feedback: ['absent', 'present', 'correct', 'absent', 'present'],
      score: 3,
    },
    metadata: { source: 'bench', round: from + index },
  }));
}
