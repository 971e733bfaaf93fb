import type { PersonalDataVault } from '../erasure/personal-data.vault.js';
import { EventStoreError } from '../errors/event-store.error.js';
import { InvalidArgumentError } from '../errors/invalid-argument.error.js';
import type { EventSerializer } from '../serialization/event-serializer.js';
import type { DatabaseSession } from '../storage/database-executor.js';
import type { EventsRepository, StreamWrite } from '../storage/events.repository.js';
import type { Touched } from '../subscriptions/wake-hints.js';
import type { AppendOptions, AppendResult, MultiStreamAppendResult, StreamAppend } from '../types/append-result.js';
import type { EventData, RecordedEvent } from '../types/event-data.js';
import type { ExpectedVersion } from '../types/expected-version.js';
import { expectedVersionCode } from '../validation/expected-version.validation.js';
import { optionalInteger } from '../validation/paging.validation.js';
import { assertStreamId } from '../validation/stream-id.validation.js';
import { conditionRecord } from '../validation/tags.validation.js';
import { AllOrderConflict } from './all-order-conflict.js';
import { laterCommittedStreamsSql, lockStreamsSql, type LaterCommittedRow } from './all-order.sql.js';
import type { StoreQueryResult, StoreTransaction } from './store-transaction.js';
import { traced } from '../tracing/store-tracer.js';
import { beforeTracedAppendInTransaction } from '../tracing/resent-trace.js';
import { appendAttributes, multiAppendAttributes, recordAppended, SpanNames, withTraceMetadata } from '../tracing/store-spans.js';
import { toStreamWrites, withEventRecords } from './stream-writes.js';

/** What a transaction needs of the store to append: made once by the runner. */
export interface TransactionParts {
  serializer: EventSerializer;
  events: EventsRepository;
  /** Seals personal data, making new subject keys in the transaction (they commit with its events). */
  vault: PersonalDataVault;
  maxAppendEvents: number;
  /** The quoted schema name. */
  schema: string;
}

/** Statements that would end or hand over the transaction behind the runner's back. */
const TRANSACTION_CONTROL = /^\s*(begin|commit|end|abort|rollback(?!\s+to\b)|start\s+transaction|prepare\s+transaction)\b/i;

/**
 * A {@link StoreTransaction} on one session of the database executor, inside its `BEGIN`: what the
 * work does, and what the runner checks before it commits. One per attempt of the work.
 */
export class SessionTransaction implements StoreTransaction {
  /** Streams and event types appended, to wake subscribers after the commit. */
  readonly touched: Touched[] = [];
  /** Duration (ms) and event count of each append, reported to the observers after the commit. */
  readonly appends: Array<{ durationMs: number; events: number }> = [];
  /** The first event of each append that wrote, checked against `$all` order before the commit. */
  private readonly firsts: Array<{ streamId: string; fromVersion: number }> = [];
  /** Failures of statements, as the database reported them: retried or mapped by the executor. */
  private readonly raised = new WeakSet<object>();
  /** Statements sent and not yet answered: none may be left when the work resolves. */
  private readonly running = new Set<Promise<unknown>>();
  private failure: unknown;
  private ended = false;

  constructor(
    private readonly session: DatabaseSession,
    private readonly parts: TransactionParts,
  ) {}

  /** Whether the work is still running: a transaction that has not ended. */
  get open(): boolean {
    return !this.ended;
  }

  async query<R extends Record<string, unknown> = Record<string, unknown>>(text: string, values?: unknown[]): Promise<StoreQueryResult<R>> {
    this.assertOpen();
    if (typeof text !== 'string' || text.trim() === '') {
      throw new InvalidArgumentError('query text must be a non-empty SQL string');
    }
    if (TRANSACTION_CONTROL.test(text)) {
      throw new InvalidArgumentError(
        'store.transaction commits when the callback resolves and rolls back when it throws: do not BEGIN, COMMIT or ROLLBACK inside it (SAVEPOINT and ROLLBACK TO are fine)',
        { text: text.slice(0, 40) },
      );
    }
    const result = await this.statement(() => this.session.query<R>(text, values));
    return { rows: result.rows, rowCount: result.rowCount ?? 0 };
  }

  async appendToStream(
    streamId: string,
    expectedVersion: ExpectedVersion,
    events: ReadonlyArray<EventData | object>,
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    this.assertOpen();
    assertStreamId(streamId);
    const count = Array.isArray(events) ? events.length : 0;
    return traced(SpanNames.append, appendAttributes(streamId, expectedVersion, count), async (span) => {
      const expected = expectedVersionCode(expectedVersion);
      const tracedOptions = withTraceMetadata(options, span);
      const serialized = this.parts.serializer.toRecords(events, this.parts.maxAppendEvents, tracedOptions, streamId);
      optionalInteger(options.timeoutMs, 'timeoutMs', 1);
      const condition = conditionRecord(options.condition);
      const started = performance.now();
      const records = await beforeTracedAppendInTransaction(serialized, tracedOptions !== options, this.storedEvent);
      const write = { streamId, expected, expectedLabel: expectedVersion, events: records };
      await this.statement(() => this.parts.vault.seal(records, this.session));
      const result = await this.statement(() => this.parts.events.appendOn(this.session, write, condition));
      this.recordAppend(started, [{ ...write, fromVersion: result.fromVersion }]);
      recordAppended(span, result);
      return result;
    });
  }

  async appendToStreams(streams: ReadonlyArray<StreamAppend>, options: AppendOptions = {}): Promise<MultiStreamAppendResult> {
    this.assertOpen();
    return traced(SpanNames.append, multiAppendAttributes(streams), async (span) => {
      const tracedOptions = withTraceMetadata(options, span);
      const serialized = toStreamWrites(streams, tracedOptions, this.parts.serializer, this.parts.maxAppendEvents);
      const writes = await this.asResent(serialized, tracedOptions !== options);
      optionalInteger(options.timeoutMs, 'timeoutMs', 1);
      const condition = conditionRecord(options.condition);
      const started = performance.now();
      await this.statement(() => this.parts.vault.sealWrites(writes, this.session));
      const results = await this.statement(() => this.parts.events.appendToStreamsOn(this.session, writes, condition));
      this.recordAppend(
        started,
        writes.map((write, index) => ({ streamId: write.streamId, events: write.events ?? [], fromVersion: results[index]!.fromVersion })),
      );
      return { streams: results };
    });
  }

  /** A stored event by id, as committed (for {@link beforeTracedAppendInTransaction}). */
  private readonly storedEvent = (eventId: string): Promise<RecordedEvent | undefined> => this.parts.events.readEvent(eventId);

  /** `writes` with their events as {@link beforeTracedAppendInTransaction} gives them. */
  private async asResent(writes: StreamWrite[], traced: boolean): Promise<StreamWrite[]> {
    if (!traced) return writes;
    const records = await beforeTracedAppendInTransaction(
      writes.flatMap((write) => write.events ?? []),
      traced,
      this.storedEvent,
    );
    return withEventRecords(writes, records);
  }

  /** Whether `error` is a statement's failure as the database reported it (not the work's own). */
  raisedByStatement(error: unknown): boolean {
    return typeof error === 'object' && error !== null && this.raised.has(error);
  }

  /** Takes the append locks of `streamIds` first thing, before the transaction has an id. */
  async lockStreams(streamIds: readonly string[]): Promise<void> {
    await this.statement(() => this.session.query(lockStreamsSql(this.parts.schema), [streamIds]));
  }

  /**
   * Ends the work and checks what the commit needs: a statement failed and left the transaction
   * aborted (its commit would be a silent rollback), or an append would break the `$all` order.
   */
  async finish(): Promise<void> {
    this.ended = true;
    await this.refuseUnawaited();
    if (this.failure !== undefined && !(await this.stillUsable())) {
      throw this.failure;
    }
    if (this.firsts.length === 0) {
      return;
    }
    const { rows } = await this.statement(() =>
      this.session.query<LaterCommittedRow>(laterCommittedStreamsSql(this.parts.schema), [
        this.firsts.map((first) => first.streamId),
        this.firsts.map((first) => first.fromVersion),
      ]),
    );
    if (rows.length > 0) {
      throw new AllOrderConflict(rows.map((row) => row.stream_id));
    }
  }

  /** Ends the transaction for the work: later calls are refused. */
  end(): void {
    this.ended = true;
  }

  private recordAppend(
    started: number,
    writes: Array<{ streamId: string; events: ReadonlyArray<{ event_type: string }>; fromVersion: number }>,
  ): void {
    let count = 0;
    for (const { streamId, events, fromVersion } of writes) {
      if (events.length > 0) {
        this.firsts.push({ streamId, fromVersion });
        this.touched.push(...events.map((event) => ({ streamId, eventType: event.event_type })));
        count += events.length;
      }
    }
    this.appends.push({ durationMs: performance.now() - started, events: count });
  }

  /**
   * Refuses to commit a work that resolved while calls of it were still running: one failing after
   * the checks would turn the `COMMIT` into a silent rollback, one succeeding would escape the
   * `$all` order check, and whatever the work meant to do after them (refused once it ended)
   * would be missing. They are waited for first, so that the rollback comes after them.
   */
  private async refuseUnawaited(): Promise<void> {
    const unawaited = this.running.size;
    if (unawaited === 0) return;
    await Promise.allSettled([...this.running]);
    throw new InvalidArgumentError(
      `The store.transaction callback resolved while ${unawaited} of its tx calls were still running: await every tx call before the callback returns. Nothing was committed`,
      { unawaited },
    );
  }

  /** A statement: a failure leaves PostgreSQL's transaction aborted, which the commit must know. */
  private statement<T>(run: () => Promise<T>): Promise<T> {
    const pending = this.recorded(run);
    this.running.add(pending);
    pending.then(
      () => this.running.delete(pending),
      () => this.running.delete(pending),
    );
    return pending;
  }

  private async recorded<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      this.failure ??= error;
      if (typeof error === 'object' && error !== null && !(error instanceof EventStoreError)) {
        this.raised.add(error);
      }
      throw error;
    }
  }

  /** After a failed statement: whether the work restored the transaction (`ROLLBACK TO` a savepoint). */
  private async stillUsable(): Promise<boolean> {
    try {
      await this.session.query('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }

  private assertOpen(): void {
    if (this.ended) {
      throw new InvalidArgumentError(
        'This store transaction has ended: use the tx only inside its store.transaction callback, and await every call before the callback returns',
      );
    }
  }
}
