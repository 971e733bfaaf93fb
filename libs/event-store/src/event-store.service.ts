import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { InvalidArgumentError } from './errors/invalid-argument.error.js';
import { StreamNotFoundError } from './errors/stream-not-found.error.js';
import { EventStoreHealth } from './health/event-store-health.js';
import { EventSerializer } from './serialization/event-serializer.js';
import type { EventStoreObserver } from './types/event-store-observer.js';
import { SubscriptionManager } from './subscriptions/subscription-manager.js';
import type { EventHandler, Subscription, SubscriptionOptions } from './subscriptions/subscription-options.js';
import type { FailedDelivery } from './subscriptions/failed-deliveries.js';
import type { RetryReport } from './subscriptions/subscription-runner.js';
import { EventStoreDatabase } from './storage/event-store-database.js';
import { EventsRepository, type AllPage, type AllQuery } from './storage/events.repository.js';
import { SnapshotsRepository } from './storage/snapshots.repository.js';
import { StreamsRepository, type ExpectedVersionCheck } from './storage/streams.repository.js';
import type { AppendOptions, AppendResult, DeleteStreamOptions } from './types/append-result.js';
import type { EventData, JsonObject, RecordedEvent } from './types/event-data.js';
import { ExpectedVersion } from './types/expected-version.js';
import type { ReadAllOptions, ReadAllResult, ReadStreamOptions } from './types/read-options.js';
import type { RecordedSnapshot, SnapshotData } from './types/snapshot.js';
import type { ListStreamsOptions, ListStreamsResult, StreamInfo } from './types/stream-info.js';
import { expectedVersionCode } from './validation/expected-version.validation.js';
import { optionalInteger, pageSize } from './validation/paging.validation.js';
import { assertName, assertStreamId, likePrefix } from './validation/stream-id.validation.js';

/**
 * The event store: append to streams with optimistic concurrency, read streams and `$all`, manage
 * streams, metadata and snapshots. Every method validates its arguments first and throws the
 * store's errors (`EventStoreError` subclasses with a stable `code`).
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
export class EventStore implements OnModuleDestroy {
  private readonly events: EventsRepository;
  private readonly streams: StreamsRepository;
  private readonly snapshots: SnapshotsRepository;
  private readonly subscriptions: SubscriptionManager;
  private readonly observers: EventStoreObserver[] = [];
  private readonly healthNumbers: EventStoreHealth;

  constructor(
    @Inject(EventStoreDatabase) private readonly database: EventStoreDatabase,
    @Inject(EventSerializer) private readonly serializer: EventSerializer,
  ) {
    this.events = new EventsRepository(database);
    this.streams = new StreamsRepository(database);
    this.snapshots = new SnapshotsRepository(database);
    this.healthNumbers = new EventStoreHealth(database, () => {
      const { notifier } = this.subscriptions;
      return notifier.started ? notifier.connected : undefined;
    });
    this.subscriptions = new SubscriptionManager(database, (subscription, outcome) =>
      this.observers.forEach((observer) => observer.delivered?.(subscription, outcome)), {
      readAllForward: (options) => this.readAllForward(options),
      readStreamForward: (streamId, options) => this.readStreamForward(streamId, options),
      endOf: (streamId) => this.endOf(streamId),
      readEvent: async (eventId) => {
        const event = await this.events.readEvent(eventId);
        return event && this.serializer.fromStored(event);
      },
    });
  }

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
    const code = expectedVersionCode(expectedVersion);
    const records = this.serializer.toRecords(events, this.database.options.maxAppendEvents, options, streamId);
    const timeoutMs = optionalInteger(options.timeoutMs, 'timeoutMs', 1);
    const started = performance.now();
    const result = await this.events.append(streamId, code, expectedVersion, records, timeoutMs);
    this.observers.forEach((observer) => observer.appended?.(performance.now() - started, records.length));
    this.subscriptions.notifier.appended();
    return result;
  }

  /** Events of a stream from `fromVersion` (default 1) upwards. */
  async readStreamForward(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    return this.typed(await this.readStreamPage(streamId, 'forward', options));
  }

  /** Events of a stream from `fromVersion` (default: its last event) downwards. */
  async readStreamBackward(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    return this.typed(await this.readStreamPage(streamId, 'backward', options));
  }

  /** A stream's events, oldest first, read page by page as the loop consumes them. */
  async *streamForward(streamId: string, options: ReadStreamOptions = {}): AsyncIterable<RecordedEvent> {
    yield* this.iterateStream(streamId, 'forward', options);
  }

  /** A stream's events, newest first, read page by page as the loop consumes them. */
  async *streamBackward(streamId: string, options: ReadStreamOptions = {}): AsyncIterable<RecordedEvent> {
    yield* this.iterateStream(streamId, 'backward', options);
  }

  /** A page of `$all` after the cursor `fromPosition` (default 0, the start), oldest first. */
  async readAllForward(options: ReadAllOptions = {}): Promise<ReadAllResult> {
    return this.readAll('forward', options);
  }

  /** A page of `$all` before the cursor `fromPosition` (default: from the end), newest first. */
  async readAllBackward(options: ReadAllOptions = {}): Promise<ReadAllResult> {
    return this.readAll('backward', options);
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
    if (streamId === '$all') {
      return (await this.readAllBackward({ maxCount: 1 })).events[0]?.globalPosition ?? 0;
    }
    assertStreamId(streamId);
    return (await this.streams.find(streamId))?.version ?? 0;
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
  async deleteStream(
    streamId: string,
    expectedVersion: ExpectedVersion,
    options: DeleteStreamOptions = {},
  ): Promise<void> {
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

  /** Replaces the stream's metadata, if the stream is at `expectedVersion` (default `any`). */
  async setStreamMetadata(
    streamId: string,
    metadata: JsonObject,
    expectedVersion: ExpectedVersion = ExpectedVersion.Any,
  ): Promise<void> {
    assertStreamId(streamId);
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
      throw new InvalidArgumentError('metadata must be a JSON object');
    }
    await this.streams.setMetadata(streamId, metadata, this.expected(expectedVersion));
  }

  /** A page of streams sorted by id, optionally those whose id starts with `prefix`. */
  async listStreams(options: ListStreamsOptions = {}): Promise<ListStreamsResult> {
    const { maxPageSize, defaultPageSize } = this.database.options;
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
  subscribe(streamId: string, handler: EventHandler, options: SubscriptionOptions = {}): Subscription {
    this.assertSubscribable(streamId, options);
    return this.subscriptions.subscribe(streamId, handler, options);
  }

  /**
   * A persistent subscription to one stream, named `name`: its checkpoint lives in PostgreSQL, so
   * after a restart it resumes after the last event handled. One process at a time runs it; the
   * others stand by and take over within seconds when that process stops or dies.
   */
  subscribeToStream(streamId: string, name: string, handler: EventHandler, options: SubscriptionOptions = {}): Subscription {
    this.assertSubscribable(streamId, options);
    if (streamId === '$all') {
      throw new InvalidArgumentError("Use subscribeToAll(name, handler) for '$all'");
    }
    if (options.group !== undefined) {
      throw new InvalidArgumentError('Groups share $all by stream: use subscribeToAll(name, handler, { group })');
    }
    return this.subscriptions.subscribePersistent(name, streamId, handler, options);
  }

  /** A persistent subscription to `$all` (optionally filtered), named `name`: see {@link subscribeToStream}. */
  subscribeToAll(name: string, handler: EventHandler, options: SubscriptionOptions = {}): Subscription {
    this.assertSubscribable('$all', options);
    return this.subscriptions.subscribePersistent(name, '$all', handler, options);
  }

  /** Stops a subscription; a persistent one writes its checkpoint and hands its lease back. */
  async unsubscribe(subscription: Subscription): Promise<void> {
    await this.subscriptions.unsubscribe(subscription);
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
   * process that runs it (if any) loses its lease at its next renewal (within a second) and it
   * resumes from the new checkpoint there or elsewhere; an event being handled at that moment may
   * still complete.
   */
  async resetSubscription(name: string, checkpoint: number, options: { whileRunning?: boolean } = {}): Promise<void> {
    await this.subscriptions.resetSubscription(name, checkpoint, options.whileRunning ?? false);
  }

  /** Reports appends, reads and deliveries to `observer` from now on (metrics). */
  observe(observer: EventStoreObserver): void {
    this.observers.push(observer);
  }

  /** Connections of the store's pool: in all, idle, and callers waiting for one. */
  poolUsage(): { total: number; idle: number; waiting: number } {
    const { totalCount, idleCount, waitingCount } = this.database.pool;
    return { total: totalCount, idle: idleCount, waiting: waitingCount };
  }

  /** The numbers behind the store's health checks (database, migrations, listener, lags, failures). */
  health(): EventStoreHealth {
    return this.healthNumbers;
  }

  /** Stops every subscription before the database closes. */
  async onModuleDestroy(): Promise<void> {
    await this.subscriptions.close();
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

  private async readStreamPage(streamId: string, direction: 'forward' | 'backward', options: ReadStreamOptions) {
    assertStreamId(streamId);
    const fromVersion = optionalInteger(options.fromVersion, 'fromVersion', direction === 'forward' ? 0 : 1);
    const { maxPageSize, defaultPageSize } = this.database.options;
    const limit = pageSize(options.maxCount, defaultPageSize, maxPageSize);
    const started = performance.now();
    const page = await this.events.readStream(streamId, direction, fromVersion, limit);
    this.observers.forEach((observer) => observer.read?.('stream', performance.now() - started, page.events.length));
    return page;
  }

  private async *iterateStream(
    streamId: string,
    direction: 'forward' | 'backward',
    options: ReadStreamOptions,
  ): AsyncIterable<RecordedEvent> {
    const step = direction === 'forward' ? 1 : -1;
    const { maxPageSize, defaultPageSize } = this.database.options;
    const limit = pageSize(options.maxCount, defaultPageSize, maxPageSize);
    let fromVersion = options.fromVersion;
    for (;;) {
      const events = this.typed(await this.readStreamPage(streamId, direction, { ...options, maxCount: limit, fromVersion }));
      yield* events;
      const last = events.at(-1);
      if (last === undefined || events.length < limit) {
        return;
      }
      fromVersion = last.streamVersion + step;
      if (fromVersion < 1) {
        return;
      }
    }
  }

  private async readAll(direction: 'forward' | 'backward', options: ReadAllOptions): Promise<ReadAllResult> {
    const query = this.allQuery(direction, options);
    const started = performance.now();
    const page = await this.events.readAll(query);
    this.observers.forEach((observer) => observer.read?.('all', performance.now() - started, page.events.length));
    return { events: this.typed(page), nextFromPosition: nextCursor(query, page) };
  }

  private allQuery(direction: 'forward' | 'backward', options: ReadAllOptions): AllQuery {
    const { maxPageSize, defaultPageSize } = this.database.options;
    const fromPosition = optionalInteger(options.fromPosition, 'fromPosition', 0);
    const { eventTypes, streamPrefix, partition } = options.filter ?? {};
    if (partition !== undefined && !isPartition(partition)) {
      throw new InvalidArgumentError('filter.partition must be { count: integer >= 1, index: integer from 0 to count - 1 }', { partition });
    }
    if (eventTypes !== undefined && (!Array.isArray(eventTypes) || eventTypes.length === 0)) {
      throw new InvalidArgumentError('filter.eventTypes must be a non-empty array of event types', { eventTypes });
    }
    eventTypes?.forEach((type, index) => assertName(type, `filter.eventTypes[${index}]`));
    const limit = pageSize(options.maxCount, defaultPageSize, maxPageSize);
    return {
      direction,
      fromPosition: direction === 'forward' ? (fromPosition ?? 0) : fromPosition,
      limit,
      eventTypes: eventTypes ?? null,
      streamPattern: streamPrefix === undefined ? null : likePrefix(streamPrefix, 'filter.streamPrefix'),
      scanLimit: Math.max(limit, this.database.options.filterScanLimit),
      partition: partition ?? null,
    };
  }

  private assertSubscribable(streamId: string, options: SubscriptionOptions): void {
    if (streamId !== '$all') {
      assertStreamId(streamId);
    }
    if (options.filter !== undefined) {
      this.allQuery('forward', { filter: options.filter });
    }
  }

  /** Events of registered types as instances of their classes, upcast to the latest version. */
  private typed({ events }: { events: RecordedEvent[] }): RecordedEvent[] {
    return events.map((event) => this.serializer.fromStored(event));
  }

  private expected(expectedVersion: ExpectedVersion): ExpectedVersionCheck {
    return { code: expectedVersionCode(expectedVersion), label: expectedVersion };
  }
}

/**
 * The cursor after a page of $all: the last event returned when the page is full; otherwise, for
 * a filtered read, as far as it scanned (so the next read does not scan the same events again);
 * `null` when a backward read reached the start.
 */
function nextCursor(query: AllQuery, page: AllPage): number | null {
  const last = page.events.at(-1)?.globalPosition;
  if (page.events.length === query.limit && last !== undefined) {
    return last;
  }
  if (query.direction === 'backward') {
    const reachedStart = page.scanned === undefined || page.scanned < query.scanLimit;
    return reachedStart ? null : (page.scannedTo ?? null);
  }
  return page.scannedTo ?? last ?? query.fromPosition ?? 0;
}

function isPartition(value: unknown): value is { count: number; index: number } {
  const { count, index } = (value ?? {}) as { count?: unknown; index?: unknown };
  return Number.isSafeInteger(count) && (count as number) >= 1 && Number.isSafeInteger(index) && (index as number) >= 0 && (index as number) < (count as number);
}
