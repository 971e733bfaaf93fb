import { Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentError } from '../errors/invalid-argument.error.js';
import { StreamNotFoundError } from '../errors/stream-not-found.error.js';
import { WrongExpectedVersionError } from '../errors/wrong-expected-version.error.js';
import { placeInStream } from '../storage/event-reader.js';
import type { AppendResult } from '../types/append-result.js';
import type { EventData, JsonObject, RecordedEvent } from '../types/event-data.js';
import type { ExpectedVersion } from '../types/expected-version.js';
import type { ReadStreamOptions } from '../types/read-options.js';
import type { RecordedSnapshot, SnapshotData } from '../types/snapshot.js';
import { assertStreamId } from '../validation/stream-id.validation.js';
import type { AggregateOptions, AggregateState, Decider, HandleOptions, HandleResult } from './decider.js';
import { SnapshotPolicy } from './snapshot-policy.js';

/** What an aggregate needs of the store: the `EventStore` facade provides it. */
export interface AggregateStore {
  appendToStream(streamId: string, expectedVersion: ExpectedVersion, events: ReadonlyArray<EventData | object>): Promise<AppendResult>;
  streamForward(streamId: string, options?: ReadStreamOptions): AsyncIterable<RecordedEvent>;
  readSnapshot(sourceId: string): Promise<RecordedSnapshot | null>;
  recordSnapshot(snapshot: SnapshotData): Promise<void>;
}

/**
 * A state loaded: the version of the snapshot it started from (0: none), and the id of the event
 * at `version` (none at 0), by which a later read checks that the stream is still the one folded.
 */
interface Loaded<State> extends AggregateState<State> {
  snapshotAt: number;
  eventId: string | undefined;
}

/** The `sourceType` of the aggregates' snapshots. */
const SNAPSHOT_TYPE = 'aggregate';
/** Backoff between attempts of `handle`: full jitter over 5 ms doubling, at most 200 ms. */
const BACKOFF_BASE_MS = 5;
const BACKOFF_CAP_MS = 200;

/**
 * One kind of aggregate (a game, a player), kept in streams `streamPrefix + id`: `load` folds its
 * events (after its snapshot, if any), `handle` decides and appends with optimistic concurrency.
 * Made by `store.aggregate(decider, options)`; holds no state of its own between calls, so one
 * instance serves any number of concurrent commands.
 *
 * @example
 * const games = store.aggregate(gameDecider, { streamPrefix: 'game-', snapshotEvery: 50 });
 * const { state, version } = await games.handle('42', { type: 'Guess', word: 'crane' });
 */
export class Aggregate<State, Command, Event extends object = EventData> {
  private readonly logger = new Logger(Aggregate.name);
  private readonly snapshots: SnapshotPolicy<State>;
  private readonly snapshotVersion: number;
  private readonly retries: number;

  /** @internal Made by `EventStore.aggregate`. */
  constructor(
    private readonly store: AggregateStore,
    private readonly decider: Decider<State, Command, Event>,
    private readonly options: AggregateOptions<State>,
  ) {
    if (typeof options?.streamPrefix !== 'string') {
      throw new InvalidArgumentError("store.aggregate needs options.streamPrefix, e.g. 'game-'", { streamPrefix: options?.streamPrefix });
    }
    if (typeof decider?.initialState !== 'function' || typeof decider.evolve !== 'function' || typeof decider.decide !== 'function') {
      throw new InvalidArgumentError('A decider has three functions: initialState(), evolve(state, event) and decide(command, state)');
    }
    this.snapshots = new SnapshotPolicy(options.snapshotEvery);
    this.snapshotVersion = integerOption(options.snapshotVersion, 'snapshotVersion', 1, 1);
    this.retries = integerOption(options.retries, 'retries', 0, 5);
  }

  /** The stream of aggregate `id`. */
  streamId(id: string): string {
    const streamId = `${this.options.streamPrefix}${id}`;
    assertStreamId(streamId, 'streamPrefix + id');
    return streamId;
  }

  /**
   * The aggregate's current state: its snapshot (when the aggregate keeps them, the snapshot's
   * `snapshotVersion` is the current one and the event it was taken after is still in the stream),
   * then the events after it. An aggregate without events is `{ state: initialState(), version: 0 }`.
   */
  async load(id: string): Promise<AggregateState<State>> {
    const { state, version } = await this.rebuild(this.streamId(id), this.snapshots.enabled);
    return { state, version };
  }

  /**
   * Loads, decides, and appends the decided events expecting the loaded version (`no_stream` at
   * 0). When another writer got there first (`WRONG_EXPECTED_VERSION`) it reads the new events and
   * decides again, up to `retries` times (exponential backoff with full jitter), then throws that
   * error. `decide` returning `[]` appends nothing. A snapshot due after the append is recorded; a
   * failure to record it is logged, never thrown.
   */
  async handle(id: string, command: Command, options: HandleOptions = {}): Promise<HandleResult<State>> {
    const streamId = this.streamId(id);
    const retries = integerOption(options.retries, 'retries', 0, this.retries);
    let current = await this.rebuild(streamId, this.snapshots.enabled);
    for (let attempt = 0; ; attempt++) {
      const events = this.decider.decide(command, current.state);
      if (events.length === 0) {
        return { state: current.state, version: current.version, events: [] };
      }
      try {
        const appended = await this.store.appendToStream(streamId, current.version === 0 ? 'no_stream' : current.version, events);
        return await this.applied(streamId, current, appended);
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError) || attempt >= retries) {
          throw error;
        }
      }
      await sleep(Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt));
      // After a lost race: the events since, or from scratch when the stream is not the one loaded.
      current = (await this.catchUp(streamId, current)) ?? (await this.fromScratch(streamId));
    }
  }

  private async rebuild(streamId: string, withSnapshot: boolean): Promise<Loaded<State>> {
    const snapshot = withSnapshot ? await this.usableSnapshot(streamId) : undefined;
    return (snapshot && (await this.catchUp(streamId, snapshot))) ?? (await this.fromScratch(streamId));
  }

  /** Every event of the stream folded from the initial state (nothing to check it against). */
  private async fromScratch(streamId: string): Promise<Loaded<State>> {
    return (await this.catchUp(streamId, this.initial())) ?? this.initial();
  }

  private initial(): Loaded<State> {
    return { state: this.decider.initialState(), version: 0, snapshotAt: 0, eventId: undefined };
  }

  /**
   * The snapshot, unless the aggregate has none or it was taken under another `snapshotVersion`
   * (stale), or it does not name the event it was taken after (recorded otherwise).
   */
  private async usableSnapshot(streamId: string): Promise<Loaded<State> | undefined> {
    const snapshot = await this.store.readSnapshot(streamId);
    const eventId = snapshot?.metadata.eventId;
    if (snapshot === null || snapshot.metadata.snapshotVersion !== this.snapshotVersion || typeof eventId !== 'string') {
      return undefined;
    }
    const state = this.options.fromSnapshot ? this.options.fromSnapshot(snapshot.data) : (snapshot.data.state as State);
    return { state, version: snapshot.sourceVersion, snapshotAt: snapshot.sourceVersion, eventId };
  }

  /**
   * `from` evolved over the stream's events after its version. `undefined` when the event `from`
   * ends at is no longer at its version: the stream was hard-deleted and written anew (a snapshot
   * outlives that; so may a state loaded before a lost race), and `from` is another stream's
   * state. The check costs one event more in the same read, no round trip. A stream that is gone
   * is the initial state.
   */
  private async catchUp(streamId: string, from: Loaded<State>): Promise<Loaded<State> | undefined> {
    let { state, version, eventId } = from;
    let anchored = from.version === 0;
    try {
      for await (const event of this.store.streamForward(streamId, { fromVersion: Math.max(1, from.version) })) {
        if (!anchored) {
          if (placeInStream(event) !== from.version || event.eventId !== from.eventId) return undefined;
          anchored = true;
          continue;
        }
        state = this.decider.evolve(state, event);
        version = placeInStream(event);
        eventId = event.eventId;
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) return from.version === 0 ? this.initial() : undefined;
      throw error;
    }
    return anchored ? { state, version, eventId, snapshotAt: from.snapshotAt } : undefined;
  }

  /** The state after the appended events, read back as stored (positions of one append may not be consecutive). */
  private async applied(streamId: string, before: Loaded<State>, appended: AppendResult): Promise<HandleResult<State>> {
    const events: RecordedEvent[] = [];
    let state = before.state;
    for await (const event of this.store.streamForward(streamId, { fromVersion: appended.fromVersion })) {
      if (placeInStream(event) > appended.toVersion) {
        break;
      }
      events.push(event);
      state = this.decider.evolve(state, event);
    }
    const version = appended.toVersion;
    // Only a state folded over exactly the appended events is snapshotted (the stream may have been
    // hard-deleted and written anew since the append).
    const last = events.at(-1);
    if (last !== undefined && events.length === version - appended.fromVersion + 1 && last.globalPosition === appended.lastPosition) {
      await this.snapshotIfDue(streamId, { state, version, snapshotAt: before.snapshotAt, eventId: last.eventId });
    }
    return { state, version, events };
  }

  private async snapshotIfDue(streamId: string, loaded: Loaded<State>): Promise<void> {
    const { state, version, eventId } = loaded;
    if (!this.snapshots.isDue({ state, version, eventsSinceSnapshot: version - loaded.snapshotAt })) {
      return;
    }
    try {
      await this.store.recordSnapshot({
        sourceId: streamId,
        sourceVersion: version,
        sourceType: SNAPSHOT_TYPE,
        data: this.snapshotData(state),
        // The event it was taken after: load checks that it is still there (see catchUp).
        metadata: { snapshotVersion: this.snapshotVersion, eventId },
      });
    } catch (error) {
      this.logger.warn(`Could not record the snapshot of ${streamId} at version ${version} (the command was handled): ${String(error)}`);
    }
  }

  private snapshotData(state: State): JsonObject {
    return this.options.toSnapshot ? this.options.toSnapshot(state) : (JSON.parse(JSON.stringify({ state })) as JsonObject);
  }
}

function integerOption(value: unknown, name: string, min: number, fallback: number): number {
  if (value === undefined) {
    return fallback;
  }
  if (!Number.isSafeInteger(value) || (value as number) < min) {
    throw new InvalidArgumentError(`${name} must be an integer >= ${min}, got ${String(value)}`, { [name]: value });
  }
  return value as number;
}
