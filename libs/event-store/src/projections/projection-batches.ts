import type { Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { classifyFailure } from '../storage/transient-failure.js';
import type { TransactionRunner } from '../transactions/transaction-runner.js';
import type { StoreTransaction } from '../transactions/store-transaction.js';
import type { RecordedEvent } from '../types/event-data.js';
import type { ProjectionDefinition } from './projection-definition.js';
import type { ProjectionTables } from './projection-handler.js';
import { describe, isProjectionSignal, ProjectionEventFailed, ProjectionLeaseLost, ProjectionStopped } from './projection-signals.js';
import { SpanKind } from '@opentelemetry/api';
import { continuing, eventAttributes } from '../tracing/event-spans.js';
import { SpanNames } from '../tracing/store-spans.js';
import { traced } from '../tracing/store-tracer.js';

/** Where a batch writes, and how its checkpoint is fenced: the live projection's, or a rebuild's. */
export interface BatchTarget {
  /** The table names handed to the handler. */
  readonly tables: ProjectionTables;
  /** Writes the checkpoint `to` in `tx` if the run still holds the projection at `from`; `false` otherwise. */
  fence(tx: StoreTransaction, from: number, to: number, count: number): Promise<boolean>;
  /** Throws {@link ProjectionLeaseLost} once the run no longer holds its lease (checked before each attempt). */
  assertHeld(): void;
  /** Records a failed attempt at an event (best effort). */
  failed(event: RecordedEvent, error: unknown, attempts: number): Promise<void>;
}

/**
 * Applies pages of events to a read model: each page in one transaction that ends with the fence
 * (the checkpoint written beside the read model, or nothing at all). A page that fails is rolled
 * back and its events applied one by one, each retried with backoff, so that the failing event is
 * found and everything before it kept; past the last attempt it throws {@link ProjectionEventFailed}.
 * The database being unavailable is not the handler's failure: it is waited out, not counted.
 */
export class ProjectionBatches {
  constructor(
    private readonly definition: ProjectionDefinition,
    private readonly transactions: TransactionRunner,
    private readonly signal: AbortSignal,
    private readonly logger: Logger,
  ) {}

  /** Applies `events` (read after `from`) and moves the checkpoint to `to`; returns the new checkpoint. */
  async apply(target: BatchTarget, from: number, events: RecordedEvent[], to: number): Promise<number> {
    for (let outage = 1; ; outage++) {
      target.assertHeld();
      try {
        await this.inTransaction(target, from, events, to);
        return to;
      } catch (error) {
        if (isProjectionSignal(error) || this.signal.aborted) throw error;
        if (isOutage(error)) {
          await this.waitOut(error, outage);
          continue;
        }
        if (events.length > 1) {
          this.logger.warn(`A batch of ${events.length} events failed (${describe(error)}); applying them one by one`);
        }
        return this.oneByOne(target, from, events);
      }
    }
  }

  private async oneByOne(target: BatchTarget, from: number, events: RecordedEvent[]): Promise<number> {
    let cursor = from;
    for (const event of events) {
      await this.applyOne(target, cursor, event);
      cursor = event.globalPosition;
    }
    return cursor;
  }

  private async applyOne(target: BatchTarget, cursor: number, event: RecordedEvent): Promise<void> {
    const { maxAttempts } = this.definition.retry;
    for (let attempt = 1, outage = 1; ;) {
      target.assertHeld();
      try {
        return await this.inTransaction(target, cursor, [event], event.globalPosition);
      } catch (error) {
        if (isProjectionSignal(error) || this.signal.aborted) throw error;
        if (isOutage(error)) {
          await this.waitOut(error, outage++);
          continue;
        }
        await target.failed(event, error, attempt).catch(() => undefined);
        if (attempt >= maxAttempts) {
          throw new ProjectionEventFailed(event, error, attempt, cursor);
        }
        const delay = backoff(this.definition.retry, attempt++);
        this.logger.debug(`The handler failed on event ${event.eventId} (${describe(error)}); retrying in ${delay} ms`);
        await this.pause(delay);
      }
    }
  }

  private async inTransaction(target: BatchTarget, from: number, events: RecordedEvent[], to: number): Promise<void> {
    const { handler, timeoutMs } = this.definition;
    await this.transactions.run(
      async (tx) => {
        for (const event of events) {
          if (this.signal.aborted) throw new ProjectionStopped('stopped in the middle of a batch; rolled back');
          await traced(
            SpanNames.project,
            { 'event_store.projection': this.definition.name, ...eventAttributes(event) },
            () => handler.handle(event, tx, target.tables),
            { ...continuing(event), kind: SpanKind.CONSUMER },
          );
        }
        if (!(await target.fence(tx, from, to, events.length))) {
          throw new ProjectionLeaseLost(`Projection ${this.definition.name} is no longer this run's at checkpoint ${from}`);
        }
      },
      timeoutMs === undefined ? {} : { timeoutMs },
    );
  }

  /** Waits while the database is unavailable (backoff up to 10 s), unless stopped. */
  async waitOut(error: unknown, attempt: number): Promise<void> {
    const delay = backoff({ initialDelayMs: 500, maxDelayMs: 10_000 }, attempt);
    this.logger.warn(`The database is unavailable (${describe(error)}); trying again in ${delay} ms`);
    await this.pause(delay);
  }

  /** Sleeps, or less when stopped (then throws {@link ProjectionStopped}). */
  async pause(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.signal }).catch(() => undefined);
    if (this.signal.aborted) throw new ProjectionStopped('stopped');
  }
}

/**
 * The database could not run the work (unreachable, out of connections, the work rolled back by
 * the server): nothing the handler did wrong, and nothing was applied.
 */
export function isOutage(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (code === 'STORE_UNAVAILABLE') return true;
  const kind = classifyFailure(error);
  return kind === 'connection' || kind === 'rolled-back';
}

/** The delay before attempt `attempt + 1`: doubled each time, capped, with jitter (50–100%). */
export function backoff({ initialDelayMs, maxDelayMs }: { initialDelayMs: number; maxDelayMs: number }, attempt: number): number {
  return Math.round(Math.min(maxDelayMs, initialDelayMs * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2));
}
