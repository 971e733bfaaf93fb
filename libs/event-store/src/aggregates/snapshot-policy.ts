import { InvalidArgumentError } from '../errors/invalid-argument.error.js';

/** What a snapshot predicate is given, after a successful append. */
export interface SnapshotContext<State> {
  /** The state after the append. */
  state: State;
  /** The stream's version after the append. */
  version: number;
  /** Events since the snapshot the load started from (all the stream's when it had none usable). */
  eventsSinceSnapshot: number;
}

/** Decides after each successful `handle` whether to record a snapshot. */
export type SnapshotPredicate<State> = (context: SnapshotContext<State>) => boolean;

/**
 * The snapshot policy of an aggregate (`snapshotEvery`): `undefined` never snapshots, `n` snapshots
 * once `n` or more events came after the last usable snapshot, a predicate decides by itself.
 */
export class SnapshotPolicy<State> {
  private readonly due: SnapshotPredicate<State> | undefined;

  constructor(every: number | SnapshotPredicate<State> | undefined) {
    this.due = SnapshotPolicy.predicate(every);
  }

  /** Whether the aggregate keeps snapshots at all (and so whether `load` reads one). */
  get enabled(): boolean {
    return this.due !== undefined;
  }

  /** Whether a snapshot is due in `context`. */
  isDue(context: SnapshotContext<State>): boolean {
    return this.due?.(context) === true;
  }

  private static predicate<State>(every: number | SnapshotPredicate<State> | undefined): SnapshotPredicate<State> | undefined {
    if (every === undefined || typeof every === 'function') {
      return every;
    }
    if (!Number.isSafeInteger(every) || every < 1) {
      throw new InvalidArgumentError(`snapshotEvery must be an integer >= 1 or a function, got ${String(every)}`, { snapshotEvery: every });
    }
    return ({ eventsSinceSnapshot }) => eventsSinceSnapshot >= every;
  }
}
