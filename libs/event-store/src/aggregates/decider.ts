import type { EventData, JsonObject, RecordedEvent } from '../types/event-data.js';
import type { SnapshotPredicate } from './snapshot-policy.js';

/**
 * An aggregate as a decider: a state folded from the aggregate's events, and a pure decision that
 * turns a command into new events given that state. The store loads, decides, appends with
 * optimistic concurrency and retries (`store.aggregate(decider, options)`).
 *
 * @typeParam Event what `decide` returns: plain {@link EventData} objects, or instances of event
 * classes registered with `@EventType` (their type and schema version come from the class).
 *
 * @example
 * const counter: Decider<{ total: number }, { add: number }> = {
 *   initialState: () => ({ total: 0 }),
 *   evolve: (state, event) => (event.eventType === 'Added' ? { total: state.total + (event.data.amount as number) } : state),
 *   decide: (command) => [{ eventType: 'Added', data: { amount: command.add } }],
 * };
 */
export interface Decider<State, Command, Event extends object = EventData> {
  /** The state of an aggregate that has no events yet (its stream does not exist). */
  initialState(): State;
  /** The state after `event`: pure, and it must not change `state` in place if a snapshot may share it. */
  evolve(state: State, event: RecordedEvent): State;
  /**
   * The events that `command` produces in `state`, or `[]` for none (nothing is appended). Throw
   * to refuse the command: nothing is appended and `handle` rethrows. May run several times for
   * one command (after a concurrent write): keep it pure.
   */
  decide(command: Command, state: State): ReadonlyArray<Event>;
}

/** An aggregate's state and the version of its stream it reflects (0: no events yet). */
export interface AggregateState<State> {
  state: State;
  version: number;
}

/** What {@link Aggregate.handle} did: the new state and version, and the events it appended. */
export interface HandleResult<State> extends AggregateState<State> {
  /** The appended events as stored (empty when `decide` returned none). */
  events: RecordedEvent[];
}

/** Options of one {@link Aggregate.handle} call. */
export interface HandleOptions {
  /** How many times to reload and decide again after `WRONG_EXPECTED_VERSION`. Default: the aggregate's `retries`. */
  retries?: number;
}

/**
 * How `store.aggregate` keeps an aggregate.
 *
 * @example
 * store.aggregate(gameDecider, { streamPrefix: 'game-', snapshotEvery: 100, snapshotVersion: 2 });
 */
export interface AggregateOptions<State> {
  /** The aggregate's stream is `streamPrefix + id`, e.g. `'game-'`. */
  streamPrefix: string;
  /**
   * When to record a snapshot after a successful `handle`: every N events since the last usable
   * snapshot, or when the predicate says so. Default: never (and `load` reads no snapshot).
   */
  snapshotEvery?: number | SnapshotPredicate<State>;
  /**
   * The version of the snapshot's shape (kept in the snapshot's metadata). Raise it when the state
   * changes shape, or when `evolve` changes meaning: older snapshots are then ignored and the state
   * is rebuilt from the events (and snapshotted again under this version). Default `1`.
   */
  snapshotVersion?: number;
  /** How many times `handle` reloads and decides again after `WRONG_EXPECTED_VERSION`. Default `5`. */
  retries?: number;
  /** The state as snapshot data (a JSON object). Default: `{ state }`, so the state must be plain JSON. */
  toSnapshot?(state: State): JsonObject;
  /** The state from snapshot data, the inverse of `toSnapshot`. Default: `data.state`. */
  fromSnapshot?(data: JsonObject): State;
}
