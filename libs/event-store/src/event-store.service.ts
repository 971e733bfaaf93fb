import { Inject, Injectable } from '@nestjs/common';
import { Aggregate } from './aggregates/aggregate.js';
import type { AggregateOptions, Decider } from './aggregates/decider.js';
import { EVENT_STORE_OPTIONS } from './configuration/event-store-configuration.module-definition.js';
import type { ResolvedEventStoreOptions } from './configuration/resolve-event-store-options.js';
import type { ForgetSubjectResult } from './erasure/forget-subject-result.js';
import { PersonalDataVault } from './erasure/personal-data.vault.js';
import { InvalidArgumentError } from './errors/invalid-argument.error.js';
import { EventExporter } from './operations/event-exporter.js';
import type { ExportOptions, ExportResult } from './operations/export-options.js';
import { EventImporter } from './operations/event-importer.js';
import type { ImportOptions, ImportResult } from './operations/import-options.js';
import type { RestampOptions, RestampResult } from './operations/restamp-result.js';
import { RestampOperation } from './operations/restamp.operation.js';
import { VerifyOperation } from './operations/verify.operation.js';
import type { VerifyOptions, VerifyResult } from './operations/verify-options.js';
import { StreamDeletedError } from './errors/stream-deleted.error.js';
import { StreamNotFoundError } from './errors/stream-not-found.error.js';
import { EventSerializer } from './serialization/event-serializer.js';
import { traced } from './tracing/store-tracer.js';
import { appendAllowingResentTrace } from './tracing/resent-trace.js';
import { optionalUuid } from './validation/event-data.validation.js';
import {
  appendAttributes,
  multiAppendAttributes,
  readAttributes,
  recordAppended,
  SpanNames,
  withTraceMetadata,
} from './tracing/store-spans.js';
import { assertJsonDepth } from './serialization/json-payload.js';
import { EventReader } from './storage/event-reader.js';
import { EventStoreObservers } from './storage/event-store-observers.js';
import { EventsRepository, type StreamWrite } from './storage/events.repository.js';
import type { FailedDelivery } from './types/failed-delivery.js';
import type { SubscriptionStatus } from './types/subscription-status.js';
import { SnapshotsRepository } from './storage/snapshots.repository.js';
import { StreamsRepository, type ExpectedVersionCheck } from './storage/streams.repository.js';
import { ProjectionManager } from './projections/projection-manager.js';
import { EventScavenger } from './retention/event-scavenger.js';
import { assertRetentionMetadata } from './retention/retention-metadata.validation.js';
import type { ScavengeOptions } from './retention/scavenge-options.js';
import type { ScavengeResult } from './retention/scavenge-result.js';
import type {
  ProjectionStatus,
  RebuildOptions,
  RebuildRequestOptions,
  RebuildRequestResult,
  RebuildResult,
} from './projections/projection-status.js';
import { EventNotifier } from './subscriptions/event-notifier.js';
import { SubscriptionManager } from './subscriptions/subscription-manager.js';
import type { StoreTransaction } from './transactions/store-transaction.js';
import { toStreamWrites, withEventRecords } from './transactions/stream-writes.js';
import { TransactionRunner, type TransactionOptions } from './transactions/transaction-runner.js';
import type { EventHandler, Subscription, SubscriptionOptions } from './subscriptions/subscription-options.js';
import type { RetryReport } from './types/retry-report.js';
import type {
  AppendOptions,
  AppendResult,
  DeleteStreamOptions,
  MultiStreamAppendResult,
  StreamAppend,
  StreamAppendResult,
} from './types/append-result.js';
import type { EventData, JsonObject, RecordedEvent } from './types/event-data.js';
import type { EventStoreObserver } from './types/event-store-observer.js';
import { ExpectedVersion } from './types/expected-version.js';
import type { ReadAllOptions, ReadAllResult, ReadStreamOptions } from './types/read-options.js';
import type { RecordedSnapshot, SnapshotData } from './types/snapshot.js';
import type { ListStreamsOptions, ListStreamsResult, StreamInfo } from './types/stream-info.js';
import { expectedVersionCode } from './validation/expected-version.validation.js';
import { conditionRecord, linkIds } from './validation/tags.validation.js';
import { optionalInteger, pageSize } from './validation/paging.validation.js';
import { assertName, assertStreamId, likePrefix } from './validation/stream-id.validation.js';

/**
 * The event store: append to streams with optimistic concurrency, read streams and `$all`, manage
 * streams, metadata and snapshots, and subscribe. Every method validates its arguments first and
 * throws the store's errors (`EventStoreError` subclasses with a stable `code`). It is a facade:
 * the work is done by the storage, serialization and subscriptions modules' providers.
 *
 * @example
 * constructor(private readonly store: EventStore) {}
 *
 * await this.store.appendToStream('game-42', ExpectedVersion.NoStream, [
 *   { eventType: 'GameStarted', data: { word: 'crane' } },
 * ]);
 * const events = await this.store.readStreamForward('game-42');
 */
@Injectable()
export class EventStore {
  /** @internal Made by Nest's injector; not part of the public API. */
  constructor(
    @Inject(EVENT_STORE_OPTIONS) private readonly options: ResolvedEventStoreOptions,
    @Inject(EventSerializer) private readonly serializer: EventSerializer,
    @Inject(EventsRepository) private readonly events: EventsRepository,
    @Inject(StreamsRepository) private readonly streams: StreamsRepository,
    @Inject(SnapshotsRepository) private readonly snapshots: SnapshotsRepository,
    @Inject(EventReader) private readonly reader: EventReader,
    @Inject(EventStoreObservers) private readonly observers: EventStoreObservers,
    @Inject(SubscriptionManager) private readonly subscriptions: SubscriptionManager,
    @Inject(EventNotifier) private readonly notifier: EventNotifier,
    @Inject(TransactionRunner) private readonly transactions: TransactionRunner,
    @Inject(ProjectionManager) private readonly projections: ProjectionManager,
    @Inject(EventExporter) private readonly exporter: EventExporter,
    @Inject(EventImporter) private readonly importer: EventImporter,
    @Inject(PersonalDataVault) private readonly vault: PersonalDataVault,
    @Inject(VerifyOperation) private readonly verification: VerifyOperation,
    @Inject(RestampOperation) private readonly restamping: RestampOperation,
    @Inject(EventScavenger) private readonly scavenger: EventScavenger,
  ) {}

  /**
   * Appends events atomically (all or none) if the stream is at `expectedVersion`. Re-sending an
   * append whose event ids are already stored at the same place succeeds again, storing nothing.
   *
   * Each event is a plain `{ eventType, data, ... }` object, an instance of a registered event
   * class (type and schema version come from its `@EventType`), or an envelope whose `data` is
   * such an instance. Payloads of registered types are validated before anything is written.
   */
  async appendToStream(
    streamId: string,
    expectedVersion: ExpectedVersion,
    events: ReadonlyArray<EventData | object>,
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    assertStreamId(streamId);
    const count = Array.isArray(events) ? events.length : 0;
    return traced(SpanNames.append, appendAttributes(streamId, expectedVersion, count), async (span) => {
      const code = expectedVersionCode(expectedVersion);
      const tracedOptions = withTraceMetadata(options, span);
      const records = this.serializer.toRecords(events, this.options.maxAppendEvents, tracedOptions, streamId);
      const timeoutMs = optionalInteger(options.timeoutMs, 'timeoutMs', 1);
      const condition = conditionRecord(options.condition);
      const started = performance.now();
      await this.vault.seal(records, undefined, timeoutMs);
      const result = await appendAllowingResentTrace(records, tracedOptions !== options, this.storedEvent, (sent) =>
        this.events.append(streamId, code, expectedVersion, sent, timeoutMs, condition),
      );
      this.observers.appended(performance.now() - started, records.length);
      this.notifier.appended(records.map((record) => ({ streamId, eventType: record.event_type })));
      recordAppended(span, result);
      return result;
    });
  }

  /**
   * Appends to several streams in one transaction: every entry's events, or none of them. Each
   * entry's stream must be at its expected version; an entry without events only checks that. A
   * failure names its stream (`details.streamId`). Re-sending the whole call succeeds again,
   * storing nothing twice. `options` apply to every event (`condition` to the whole call).
   *
   * @example
   * await store.appendToStreams([
   *   { streamId: 'game-42', expectedVersion: 7, events: [{ eventType: 'GameWon', data: { by: 'p1' } }] },
   *   { streamId: 'player-p1', expectedVersion: 'any', events: [{ eventType: 'GameWonBy', data: { game: 42 } }] },
   * ]);
   */
  async appendToStreams(streams: ReadonlyArray<StreamAppend>, options: AppendOptions = {}): Promise<MultiStreamAppendResult> {
    return traced(SpanNames.append, multiAppendAttributes(streams), async (span) => {
      const tracedOptions = withTraceMetadata(options, span);
      const writes = this.streamWrites(streams, tracedOptions);
      const timeoutMs = optionalInteger(options.timeoutMs, 'timeoutMs', 1);
      const condition = conditionRecord(options.condition);
      const started = performance.now();
      await this.vault.sealWrites(writes, undefined, timeoutMs);
      const records = writes.flatMap((write) => write.events ?? []);
      const results = await appendAllowingResentTrace(records, tracedOptions !== options, this.storedEvent, (sent) =>
        this.events.appendToStreams(withEventRecords(writes, sent), condition, timeoutMs),
      );
      const written = writes.flatMap((write) =>
        (write.events ?? []).map((record) => ({ streamId: write.streamId, eventType: record.event_type })),
      );
      this.observers.appended(performance.now() - started, written.length);
      this.notifier.appended(written);
      return { streams: results };
    });
  }

  /**
   * Links stored events (by id) into stream `streamId`, after its last version, if it is at
   * `expectedVersion` (the rules of appends). Each link has a version of its own there; the event
   * keeps its stream, version and position, `$all` holds it once, and a read of `streamId` returns
   * it with `link` set. The result's versions are the links'; its positions are `null`. Re-sending the same links succeeds again; an event linked there before, at
   * another place, is `DUPLICATE_EVENT`; an id not stored is `INVALID_ARGUMENT`.
   *
   * @example
   * await store.linkToStream('highlights-2026-12', 'any', [winningGuess.eventId]);
   */
  async linkToStream(
    streamId: string,
    expectedVersion: ExpectedVersion,
    eventIds: ReadonlyArray<string>,
    options: Pick<AppendOptions, 'timeoutMs' | 'condition'> = {},
  ): Promise<StreamAppendResult> {
    assertStreamId(streamId);
    const attributes = { ...appendAttributes(streamId, expectedVersion, 0), 'db.operation.name': 'link' };
    return traced(SpanNames.append, attributes, async (span) => {
      const expected = expectedVersionCode(expectedVersion);
      const links = linkIds(eventIds, this.options.maxAppendEvents);
      span.setAttribute('event_store.link_count', links.length);
      const timeoutMs = optionalInteger(options.timeoutMs, 'timeoutMs', 1);
      const condition = conditionRecord(options.condition);
      const [result] = await this.events.appendToStreams(
        [{ streamId, expected, expectedLabel: expectedVersion, links }],
        condition,
        timeoutMs,
      );
      // Links add nothing to `$all`: the hint only wakes the readers of the stream.
      this.notifier.appended([{ streamId, eventType: '$link' }]);
      recordAppended(span, result!);
      return result!;
    });
  }

  /** A stored event by id, as stored (for {@link appendAllowingResentTrace}). */
  private readonly storedEvent = (eventId: string): Promise<RecordedEvent | undefined> => this.events.readEvent(eventId);

  private streamWrites(entries: ReadonlyArray<StreamAppend>, options: AppendOptions): StreamWrite[] {
    return toStreamWrites(entries, options, this.serializer, this.options.maxAppendEvents);
  }

  /**
   * Runs `work` in one PostgreSQL transaction (READ COMMITTED) of the store: the caller's SQL
   * (`tx.query`, node-postgres `$1` parameters) and the store's appends (`tx.appendToStream`,
   * `tx.appendToStreams`: the validation and errors of this class's) commit together when `work`
   * resolves, and are rolled back when it throws (the error is rethrown). Subscribers hear of the
   * events after the commit. A failed statement ends the transaction, as in PostgreSQL: rethrow,
   * or catch it within a `SAVEPOINT` and `ROLLBACK TO` it. Await every `tx` call: a `work` that
   * resolves while one is still running is refused (`INVALID_ARGUMENT`), nothing committed. Table
   * names without a schema resolve in the store's schema first (a projection's tables), then along
   * the connection's usual search path.
   *
   * `work` may run more than once, each time in a new transaction: after a deadlock, and when its
   * appends would otherwise come out of order in `$all` (docs/design.md). Keep effects outside the
   * database out of it. Not nested: inside `work`, use `tx` (this class's methods run outside the
   * transaction, on other connections: an append there to a stream `tx` appended to waits for the
   * transaction to end). `options.timeoutMs` (default: the store's `operationTimeoutMs`) bounds the
   * whole call; past it, `TIMEOUT` and nothing is stored. Keep transactions short: while one that
   * wrote is open, `$all` readers see no event committed after its first write (docs/design.md).
   *
   * @example
   * await store.transaction(async (tx) => {
   *   await tx.appendToStream('game-42', 7, [{ eventType: 'GameWon', data: { by: 'p1' } }]);
   *   await tx.query('INSERT INTO outbox (topic, body) VALUES ($1, $2)', ['game-won', '{"game":42}']);
   * });
   */
  async transaction<T>(work: (tx: StoreTransaction) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    return this.transactions.run(work, options);
  }

  /**
   * An aggregate kept as a decider in streams `options.streamPrefix + id`: `load(id)` folds its
   * snapshot (if the aggregate keeps them) and the events after it; `handle(id, command)` decides
   * and appends with the loaded version, deciding again after `WRONG_EXPECTED_VERSION` (up to
   * `retries`, default 5). Snapshots by `snapshotEvery` (default: none), ignored when taken under
   * another `snapshotVersion` (default 1).
   *
   * @example
   * const games = store.aggregate(gameDecider, { streamPrefix: 'game-', snapshotEvery: 100 });
   * const { state, version, events } = await games.handle('42', { type: 'Guess', word: 'crane' });
   */
  aggregate<State, Command, Event extends object = EventData>(
    decider: Decider<State, Command, Event>,
    options: AggregateOptions<State>,
  ): Aggregate<State, Command, Event> {
    return new Aggregate(this, decider, options);
  }

  /**
   * Events of a stream from `fromVersion` (default 1) upwards. `T` names the payload type the
   * caller expects (not checked: events of registered types are instances of their class).
   *
   * @example
   * const [started] = await store.readStreamForward<GameStarted>('game-42', { maxCount: 1 });
   */
  async readStreamForward<T extends object = JsonObject>(
    streamId: string,
    options: ReadStreamOptions = {},
  ): Promise<Array<RecordedEvent<T>>> {
    return traced(SpanNames.read, readAttributes(streamId, 'forward'), async (span) => {
      const events = await this.reader.readStream(streamId, 'forward', options);
      span.setAttribute('event_store.event_count', events.length);
      return events as unknown as Array<RecordedEvent<T>>;
    });
  }

  /** Events of a stream from `fromVersion` (default: its last event) downwards. */
  async readStreamBackward<T extends object = JsonObject>(
    streamId: string,
    options: ReadStreamOptions = {},
  ): Promise<Array<RecordedEvent<T>>> {
    return traced(SpanNames.read, readAttributes(streamId, 'backward'), async (span) => {
      const events = await this.reader.readStream(streamId, 'backward', options);
      span.setAttribute('event_store.event_count', events.length);
      return events as unknown as Array<RecordedEvent<T>>;
    });
  }

  /** A stream's events, oldest first, read page by page as the loop consumes them. */
  async *streamForward<T extends object = JsonObject>(streamId: string, options: ReadStreamOptions = {}): AsyncIterable<RecordedEvent<T>> {
    yield* this.reader.iterateStream(streamId, 'forward', options) as AsyncIterable<RecordedEvent> as unknown as AsyncIterable<
      RecordedEvent<T>
    >;
  }

  /** A stream's events, newest first, read page by page as the loop consumes them. */
  async *streamBackward<T extends object = JsonObject>(streamId: string, options: ReadStreamOptions = {}): AsyncIterable<RecordedEvent<T>> {
    yield* this.reader.iterateStream(streamId, 'backward', options) as AsyncIterable<RecordedEvent> as unknown as AsyncIterable<
      RecordedEvent<T>
    >;
  }

  /** A page of `$all` after the cursor `fromPosition` (default 0, the start), oldest first. */
  async readAllForward<T extends object = JsonObject>(options: ReadAllOptions = {}): Promise<ReadAllResult<T>> {
    return traced(SpanNames.read, readAttributes('$all', 'forward'), async (span) => {
      const page = await this.reader.readAll('forward', options);
      span.setAttribute('event_store.event_count', page.events.length);
      return page as unknown as ReadAllResult<T>;
    });
  }

  /** A page of `$all` before the cursor `fromPosition` (default: from the end), newest first. */
  async readAllBackward<T extends object = JsonObject>(options: ReadAllOptions = {}): Promise<ReadAllResult<T>> {
    return traced(SpanNames.read, readAttributes('$all', 'backward'), async (span) => {
      const page = await this.reader.readAll('backward', options);
      span.setAttribute('event_store.event_count', page.events.length);
      return page as unknown as ReadAllResult<T>;
    });
  }

  /**
   * Where "now" is, as a cursor: the global position of the last event `$all` shows (0 when empty),
   * or a stream's version (0 when it has none). A subscription's `startFrom: 'end'` is read when the
   * subscription starts, a moment after `subscribe` returns; pass `await endOf(...)` instead to
   * pin it to the call, e.g. before answering a client that will append next.
   *
   * @example
   * const subscription = store.subscribe('$all', handler, { startFrom: await store.endOf('$all') });
   */
  async endOf(streamId: string): Promise<number> {
    return this.reader.endOf(streamId);
  }

  /**
   * One event by its id, in its own stream, as a read of that stream shows it; `undefined` when no
   * read shows it: never stored, hard-deleted, of a soft-deleted stream, or past its stream's
   * retention. `INVALID_ARGUMENT` for an id that is not a UUID.
   *
   * @example
   * const event = await store.readEvent('0b6a7c3e-58f4-4b9e-9c1e-2f0b7f6f3a11');
   */
  async readEvent<T extends object = JsonObject>(eventId: string): Promise<RecordedEvent<T> | undefined> {
    const id = optionalUuid(eventId, 'eventId');
    if (id === null) throw new InvalidArgumentError('eventId must be a UUID', { eventId: null });
    const stored = await this.reader.readEvent(id);
    if (stored === undefined) return undefined;
    // Read through its stream, so that its rules apply: soft deletion, retention.
    const [shown] = await this.reader
      .readStream(stored.streamId, 'forward', { fromVersion: stored.streamVersion, maxCount: 1 })
      .catch((error: unknown) => {
        if (error instanceof StreamDeletedError || error instanceof StreamNotFoundError) return [];
        throw error;
      });
    return shown?.eventId === stored.eventId ? (shown as unknown as RecordedEvent<T>) : undefined;
  }

  /** The stream's version, timestamps, deletion flag and metadata; `STREAM_NOT_FOUND` if none. */
  async streamInfo(streamId: string): Promise<StreamInfo> {
    assertStreamId(streamId);
    const info = await this.streams.find(streamId);
    if (info === undefined) {
      throw new StreamNotFoundError(streamId);
    }
    return info;
  }

  /** `true` when the stream has events and is not soft-deleted. */
  async streamExists(streamId: string): Promise<boolean> {
    assertStreamId(streamId);
    const info = await this.streams.find(streamId);
    return info !== undefined && !info.deleted;
  }

  /**
   * Deletes a stream at `expectedVersion`. `soft` (default) refuses further reads and appends but
   * keeps its events in `$all`; `hard` removes the stream and its events, and frees its id.
   */
  async deleteStream(streamId: string, expectedVersion: ExpectedVersion, options: DeleteStreamOptions = {}): Promise<void> {
    assertStreamId(streamId);
    const expected = this.expected(expectedVersion);
    const mode = options.mode ?? 'soft';
    if (mode === 'hard') {
      return this.streams.hardDelete(streamId, expected);
    }
    if (mode !== 'soft') {
      throw new InvalidArgumentError(`mode must be 'soft' or 'hard', got ${JSON.stringify(mode)}`, { mode });
    }
    return this.streams.softDelete(streamId, expected);
  }

  /** The stream's metadata (`{}` until set). */
  async getStreamMetadata(streamId: string): Promise<JsonObject> {
    const info = await this.streamInfo(streamId);
    return info.metadata;
  }

  /**
   * Replaces the stream's metadata, if the stream is at `expectedVersion` (default `any`). The
   * retention keys `$maxAge` (seconds), `$maxCount` (events) and `$truncateBefore` (a version)
   * must be integers >= 1 (`INVALID_ARGUMENT` naming the key) and bound what reads and
   * subscriptions of the stream return from the moment this resolves; {@link scavenge} deletes
   * what they hide (docs/retention.md).
   *
   * @example
   * await store.setStreamMetadata('chat-42', { $maxAge: 7 * 24 * 3600, owner: 'guild-7' });
   */
  async setStreamMetadata(streamId: string, metadata: JsonObject, expectedVersion: ExpectedVersion = ExpectedVersion.Any): Promise<void> {
    assertStreamId(streamId);
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
      throw new InvalidArgumentError('metadata must be a JSON object');
    }
    assertJsonDepth(metadata, 'metadata');
    assertRetentionMetadata(metadata);
    await this.streams.setMetadata(streamId, metadata, this.expected(expectedVersion));
  }

  /** A page of streams sorted by id, optionally those whose id starts with `prefix`. */
  async listStreams(options: ListStreamsOptions = {}): Promise<ListStreamsResult> {
    const { maxPageSize, defaultPageSize } = this.options;
    const limit = pageSize(options.limit, defaultPageSize, maxPageSize, 'limit');
    const pattern = options.prefix === undefined ? null : likePrefix(options.prefix);
    return this.streams.list(pattern, options.after ?? null, limit);
  }

  /**
   * A transient subscription to one stream or to `$all` (`streamId` `'$all'`): the handler gets
   * every event after `options.startFrom` (default: from the origin), then every new one as it is
   * appended, in order, one at a time. Nothing is stored; `unsubscribe` stops it.
   *
   * @example
   * const subscription = store.subscribe('$all', (event) => scores.apply(event), { filter: { streamPrefix: 'game-' } });
   */
  subscribe<T extends object = JsonObject>(streamId: string, handler: EventHandler<T>, options: SubscriptionOptions = {}): Subscription {
    return this.subscriptions.subscribe(streamId, handler as unknown as EventHandler, options);
  }

  /**
   * A persistent subscription to one stream, named `name`: its checkpoint lives in PostgreSQL, so
   * after a restart it resumes after the last event handled. One process at a time runs it; the
   * others stand by and take over within seconds when that process stops or dies.
   *
   * One subscription of a name runs in a process at a time: subscribing again to a name that
   * runs in this process throws `InvalidArgumentError`; unsubscribe it (and await that) first.
   * Members of a group (`options.group`) are the exception: a process may run several members of
   * one group, but a name runs either as a group or as a plain subscription.
   */
  subscribeToStream<T extends object = JsonObject>(
    streamId: string,
    name: string,
    handler: EventHandler<T>,
    options: SubscriptionOptions = {},
  ): Subscription {
    return this.subscriptions.subscribeToStream(streamId, name, handler as unknown as EventHandler, options);
  }

  /** A persistent subscription to `$all` (optionally filtered), named `name`: see {@link subscribeToStream}. */
  subscribeToAll<T extends object = JsonObject>(name: string, handler: EventHandler<T>, options: SubscriptionOptions = {}): Subscription {
    return this.subscriptions.subscribeToAll(name, handler as unknown as EventHandler, options);
  }

  /** Stops a subscription; a persistent one writes its checkpoint and hands its lease back. */
  async unsubscribe(subscription: Subscription): Promise<void> {
    await subscription.unsubscribe();
  }

  /** Stops a persistent subscription if it runs in this process, and deletes its checkpoint. */
  async deleteSubscription(name: string): Promise<void> {
    await this.subscriptions.delete(name);
  }

  /**
   * Retries, now, the due failed deliveries of the persistent subscriptions this process runs.
   * The scheduled worker calls it every second (with `ScheduleModule.forRoot()` in the app).
   */
  async retryFailedDeliveries(): Promise<RetryReport> {
    return this.subscriptions.retryFailedDeliveries();
  }

  /**
   * The persistent subscriptions stored, whichever process runs them, by name: checkpoint, where
   * what each reads ends (`head`), lag, lease owner, failed and dead-lettered deliveries; a
   * group's partitions are listed one by one (`name:0`, `name:1`, ...). With `options.name`, only
   * that subscription, or the partitions of the group of that name (`[]` when there is none).
   *
   * @example
   * const lagging = (await store.listSubscriptions()).filter((s) => s.lag > 1_000);
   */
  async listSubscriptions(options: { name?: string } = {}): Promise<SubscriptionStatus[]> {
    return this.subscriptions.list(options.name);
  }

  /** The failed deliveries of a persistent subscription: `failed` (to be retried), `dead`, or both. */
  async listFailedDeliveries(name: string, options: { status?: 'failed' | 'dead' } = {}): Promise<FailedDelivery[]> {
    return this.subscriptions.listFailedDeliveries(name, options.status ?? null);
  }

  /** Makes failed deliveries (`dead` ones, `failed` ones, or both) due again now; returns how many. */
  async replayFailedDeliveries(name: string, options: { status?: 'failed' | 'dead' } = {}): Promise<number> {
    return this.subscriptions.replayFailedDeliveries(name, options.status ?? null);
  }

  /**
   * Moves a persistent subscription's checkpoint (e.g. 0 to replay history): it resumes after that
   * position (or version). By default only while no process runs it. With `whileRunning`, the
   * process that runs it (if any) loses its lease at its next renewal (within a second), and it
   * resumes from the new checkpoint there or elsewhere once that lease's time has run out (2 to
   * 3 s); an event being handled at the reset may still complete.
   */
  async resetSubscription(name: string, checkpoint: number, options: { whileRunning?: boolean } = {}): Promise<void> {
    await this.subscriptions.resetSubscription(name, checkpoint, options.whileRunning ?? false);
  }

  /**
   * Where a projection (`@Projection`) stands, across every process: `running`, `standby`,
   * `halted` (with the error and the event it stopped at), `rebuilding` (with the rebuild's
   * progress) or `failed` (it could not be created in this process: `lastError`); its checkpoint, its lag (events of its filter after the checkpoint), its owner and
   * its last error. `INVALID_ARGUMENT` for a name no process has started.
   *
   * @example
   * const { status, lag, lastError } = await store.projectionStatus('leaderboard');
   */
  async projectionStatus(name: string): Promise<ProjectionStatus> {
    return this.projections.status(name);
  }

  /** The status of every projection (stored, or started in this process), by name. */
  async listProjections(): Promise<ProjectionStatus[]> {
    return this.projections.list();
  }

  /**
   * Lets a halted projection run again, from its checkpoint: the event it halted at is tried
   * first (nothing is skipped). Whichever process stands by takes it within a second. A projection
   * `failed` in this process (its `createTables` failed) is tried again. Nothing happens to one
   * that is neither; a restart of a process running it resumes it too.
   */
  async resumeProjection(name: string): Promise<void> {
    await this.projections.resume(name);
  }

  /**
   * Rebuilds a projection from the origin of `$all` into fresh tables while the current read model
   * keeps serving (and keeps being updated), then switches to them in one transaction: readers of
   * the real table names see the old model until then, the complete new one after. Resolves once
   * switched. Run it in a process that has the projection's provider (its handler builds the
   * tables). A rebuild whose process died is started over by the next call.
   *
   * @example
   * await store.rebuildProjection('leaderboard', {
   *   onProgress: ({ processed, total }) => console.log(`${processed}/${total}`),
   * });
   */
  async rebuildProjection(name: string, options: RebuildOptions = {}): Promise<RebuildResult> {
    return this.projections.rebuild(name, options);
  }

  /**
   * Asks for a rebuild of a projection from any process, also one without its provider (the
   * command line's `projections rebuild`): the request is recorded in the projection's row, and
   * the process that runs the projection (holds its lease; or any process that has it, while none
   * does) takes it up within a second and rebuilds it as {@link rebuildProjection} does. Until a
   * switch answers it, a request survives the death of the rebuilding process (the next one starts
   * over); a request made while one is pending, or while a rebuild is under way, is answered by
   * that rebuild. `INVALID_ARGUMENT` for a name no process has started.
   *
   * Resolves once recorded, or with `wait: true` once switched (rejecting if the rebuild gave up,
   * or with `TIMEOUT` past `startTimeoutMs` without a rebuild under way: the request is then
   * withdrawn). `signal` stops the waiting, not the rebuild.
   *
   * @example
   * const { generation } = await store.requestProjectionRebuild('leaderboard', { wait: true, startTimeoutMs: 60_000 });
   */
  async requestProjectionRebuild(name: string, options: RebuildRequestOptions = {}): Promise<RebuildRequestResult> {
    return this.projections.requestRebuild(name, options);
  }

  /**
   * Forgets a data subject (erasure of personal data, docs/erasure.md): destroys the key its
   * personal fields (`@PersonalData()`, or the `personalData` option) are encrypted with. From then
   * on, in every read (streams, `$all`, subscriptions, projections, other processes included) those
   * fields read as `{ "$erased": true }`; the events, their order, their other fields and their
   * checksums stay as they were. Appends of personal data of the subject are refused afterwards
   * (`INVALID_ARGUMENT`): its key is never made again. Idempotent; a subject the store never saw
   * is forgotten too. Other subjects, and other stores (schemas), are not touched.
   *
   * @example
   * const { forgottenAt } = await store.forgetSubject('player-7');
   */
  async forgetSubject(subjectId: string): Promise<ForgetSubjectResult> {
    return this.vault.forget(subjectId);
  }

  /**
   * Writes every visible event, in `$all` order, to `output` as NDJSON: one JSON object a line
   * with all of the event's fields, `data` and `metadata` as their stored text, its `createdAt`
   * and checksum (docs/operations.md, "Export and import"). Streamed: memory stays flat for any
   * store size. `fromPosition` resumes after the last event of an earlier export; the signal stops
   * it after a whole line. The output is not ended.
   *
   * @example
   * const { exported } = await store.exportEvents(createWriteStream('store.ndjson'));
   */
  async exportEvents(output: NodeJS.WritableStream, options: ExportOptions = {}): Promise<ExportResult> {
    return this.exporter.export(output, options);
  }

  /**
   * Stores the events of an export (`input`: its NDJSON bytes) in this store, in batches of
   * `batchSize` lines: ids, streams, versions, data and metadata bytes, `createdAt` and checksums
   * are kept, positions are this store's own, in the lines' order, so `$all` order is the
   * source's. Idempotent by event id: a re-run, or a run after a kill, stores nothing twice. A bad
   * line throws `INVALID_ARGUMENT` starting with its number, and nothing of its batch is written.
   */
  async importEvents(input: NodeJS.ReadableStream, options: ImportOptions = {}): Promise<ImportResult> {
    return this.importer.import(input, {
      ...options,
      onProgress: (progress) => {
        this.notifier.appended();
        options.onProgress?.(progress);
      },
    });
  }

  /**
   * Checks every stored event's checksum (recomputed in SQL from its row, as every read does), in
   * batches of `batchSize` (default 1,000) by position, each a short read of its own: it runs
   * beside the store's work and holds no lock. Lists the events that fail (changed outside the
   * store) instead of stopping at the first. `signal` stops it at a batch boundary; `fromPosition`
   * (an interrupted run's `lastPosition`) continues from there.
   *
   * @example
   * const { checked, corrupted } = await store.verify({ onProgress: ({ done, total }) => console.log(`${done}/${total}`) });
   */
  async verify(options: VerifyOptions = {}): Promise<VerifyResult> {
    return this.verification.run(options);
  }

  /**
   * After a `pg_restore` of this store into another PostgreSQL cluster: gives its rows new, small
   * transaction ids that keep `$all` order exactly, so that `$all` shows every event at once (a
   * younger cluster would otherwise hide them until its counter passed theirs) and new appends
   * sort after them. Positions stay, so cursors and checkpoints stay valid. Moves the cluster's
   * transaction counter on first when it is below the ids needed (`transactionIdsAdvanced`). Run it
   * once, before the services start: it refuses (`TIMEOUT`) while other sessions write to the
   * store, and a second run changes nothing. The rewrite is one transaction, rolled back if
   * `signal` stops it (docs/operations.md, "Backup and restore").
   *
   * @example
   * const { rows, groups, transactionIdsAdvanced } = await store.restamp();
   */
  async restamp(options: RestampOptions = {}): Promise<RestampResult> {
    return this.restamping.run(options);
  }

  /**
   * Deletes for good the events that streams' retention metadata (`$maxAge`, `$maxCount`,
   * `$truncateBefore`) already hides from their reads, in batches of `batchSize` (default 500),
   * each a short transaction of its own, and drops snapshots taken below the first version a
   * stream's reads return (docs/retention.md). A stream's last version is kept, and no stream row
   * goes: versions are never reused, appends with an expected version keep working, and a `$all`
   * cursor at a removed event still continues right after it. Safe beside appends and beside other
   * scavengers (other processes included). `signal` stops it at a batch boundary (`interrupted`);
   * running it again carries on.
   *
   * @example
   * await store.setStreamMetadata('chat-42', { $maxCount: 1000 });
   * const { eventsRemoved } = await store.scavenge({ streamPrefix: 'chat-' });
   */
  async scavenge(options: ScavengeOptions = {}): Promise<ScavengeResult> {
    return this.scavenger.scavenge(options);
  }

  /** Reports appends, reads and deliveries to `observer` from now on (metrics). */
  observe(observer: EventStoreObserver): void {
    this.observers.add(observer);
  }

  /**
   * Stores the latest snapshot of a source, replacing its previous one; a snapshot older than the
   * stored one (lower `sourceVersion`) is ignored, so concurrent snapshotters never go backwards.
   */
  async recordSnapshot(snapshot: SnapshotData): Promise<void> {
    assertStreamId(snapshot?.sourceId, 'sourceId');
    assertName(snapshot.sourceType, 'sourceType');
    if (optionalInteger(snapshot.sourceVersion, 'sourceVersion', 0) === undefined) {
      throw new InvalidArgumentError('sourceVersion is required: the stream version the snapshot reflects');
    }
    if (typeof snapshot.data !== 'object' || snapshot.data === null || Array.isArray(snapshot.data)) {
      throw new InvalidArgumentError('snapshot data must be a JSON object');
    }
    assertJsonDepth(snapshot.data, 'data');
    assertJsonDepth(snapshot.metadata ?? {}, 'metadata');
    await this.snapshots.record({ ...snapshot, metadata: snapshot.metadata ?? {} });
  }

  /** The latest snapshot of a source, or `null` when it has none. */
  async readSnapshot(sourceId: string): Promise<RecordedSnapshot | null> {
    assertStreamId(sourceId, 'sourceId');
    return this.snapshots.read(sourceId);
  }

  /** Deletes a source's snapshot; nothing happens when it has none. */
  async deleteSnapshot(sourceId: string): Promise<void> {
    assertStreamId(sourceId, 'sourceId');
    await this.snapshots.delete(sourceId);
  }

  private expected(expectedVersion: ExpectedVersion): ExpectedVersionCheck {
    return { code: expectedVersionCode(expectedVersion), label: expectedVersion };
  }
}
