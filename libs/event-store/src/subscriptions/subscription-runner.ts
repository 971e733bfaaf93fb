import { Logger } from '@nestjs/common';
import { context, ROOT_CONTEXT, SpanKind, type Attributes, type Span } from '@opentelemetry/api';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RetryReport } from '../types/retry-report.js';
import type { RecordedEvent } from '../types/event-data.js';
import type { EventNotifier } from './event-notifier.js';
import type { FailedDeliveriesRepository } from '../storage/failed-deliveries.repository.js';
import type { EventSource } from './event-source.js';
import { continuing, eventAttributes } from '../tracing/event-spans.js';
import { recordFailure, traced } from '../tracing/store-tracer.js';
import { SpanNames } from '../tracing/store-spans.js';
import { LeaseLostError, SubscriptionDeletedError, type SubscriptionLease } from './subscription-lease.js';
import type { EventHandler, StartFrom, Subscription, SubscriptionOptions } from './subscription-options.js';

/** Options with their defaults applied. */
interface Backoff {
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

interface Settings {
  startFrom: StartFrom;
  batchSize: number;
  pollIntervalMs: number;
  retry: Backoff;
  onFailure: 'halt' | 'skip';
  failedRetry: Backoff;
}

/** Where the outcome of each handler call is reported (metrics). */
export interface DeliveryReporter {
  delivered(subscription: string, outcome: 'handled' | 'retried' | 'failed'): void;
}

/**
 * Runs a subscription: reads pages after its cursor and hands each event to the handler, in
 * order, one at a time. Catch-up and live are the same loop: when a read finds nothing new it
 * waits for a wake-up that concerns it (a notification, or the process's look for new events
 * every poll interval) and reads again from the same cursor,
 * so the switch can neither skip nor repeat an event. Memory holds one page, whatever the backlog.
 */
export class SubscriptionRunner implements Subscription {
  private readonly logger: Logger;
  private readonly abort = new AbortController();
  private readonly settings: Settings;
  private cursor = 0;
  private reachedEnd = false;
  private caughtUpWaiters: Array<() => void> = [];
  /** Handler calls, one at a time: the main loop's and the retry worker's take turns. */
  private handling: Promise<unknown> = Promise.resolve();
  readonly stopped: Promise<void>;

  constructor(
    readonly name: string | undefined,
    private readonly source: EventSource,
    private readonly notifier: EventNotifier,
    private readonly handler: EventHandler,
    options: SubscriptionOptions,
    private readonly lease?: SubscriptionLease,
    private readonly failures?: FailedDeliveriesRepository,
    private readonly report?: DeliveryReporter,
  ) {
    this.logger = new Logger(`Subscription(${name ?? source.streamId})`);
    this.settings = settingsOf(options);
    lease?.attach(() => this.handling);
    // Not in the context of whoever subscribed (a request's span, long ended): a delivery joins the
    // trace stored with its event, or starts its own.
    this.stopped = context.with(ROOT_CONTEXT, () => this.run());
    // A halted subscription reports through `stopped`; nobody awaiting it is not a crash.
    this.stopped.catch(() => undefined);
  }

  get streamId(): string {
    return this.source.streamId;
  }

  get position(): number {
    return this.cursor;
  }

  get caughtUp(): boolean {
    return this.reachedEnd;
  }

  waitUntilCaughtUp(): Promise<void> {
    if (this.reachedEnd) {
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      this.caughtUpWaiters.push(resolve);
      this.stopped.then(resolve, reject);
    });
  }

  async unsubscribe(): Promise<void> {
    this.abort.abort();
    await this.stopped.catch(() => undefined);
  }

  private async run(): Promise<void> {
    const { signal } = this.abort;
    if (!this.lease) {
      this.cursor = await this.outlasting(() => this.start(), signal);
      return this.deliverUntilStopped(signal);
    }
    while (!signal.aborted) {
      const acquired = await this.outlasting(() => this.lease!.acquire(signal, () => this.start()), signal).catch((error: unknown) => {
        if (error instanceof SubscriptionDeletedError) {
          this.logger.log('Deleted by another process; stopping');
          return undefined;
        }
        if (error instanceof LeaseLostError) return undefined; // a partition someone else took: stop
        throw error;
      });
      if (acquired === undefined || signal.aborted) {
        // Unsubscribed while acquiring: a lease taken meanwhile goes straight back.
        await this.lease.release(this.cursor);
        break;
      }
      this.cursor = this.lease.resumeFrom(acquired, this.cursor);
      try {
        await this.deliverUntilStopped(signal);
      } catch (error) {
        if (!(error instanceof LeaseLostError)) {
          await this.lease.release(this.cursor);
          throw error;
        }
        if (!this.lease.standsBy) {
          break; // a group partition: its group decides where it runs next
        }
        this.logger.warn('Lost its lease to another process; standing by');
        this.reachedEnd = false;
        continue;
      }
      await this.lease.release(this.cursor);
    }
  }

  /**
   * Runs `work` again, with backoff, while the database is unavailable or slow (the store's own
   * retries exhausted): an outage pauses a subscription; it does not end it. Other errors (a
   * corrupted event, a deleted stream, a refused definition) are the subscription's to report.
   */
  private async outlasting<T>(work: () => Promise<T>, signal: AbortSignal): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await work();
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (signal.aborted || (code !== 'STORE_UNAVAILABLE' && code !== 'TIMEOUT')) {
          throw error;
        }
        const delay = backoff({ maxAttempts: 0, initialDelayMs: 500, maxDelayMs: 10_000 }, attempt);
        this.logger.warn(`The database is unavailable (${(error as Error).message}); trying again in ${delay} ms`);
        await sleep(delay, undefined, { signal }).catch(() => undefined);
        if (signal.aborted) throw error;
      }
    }
  }

  private async start(): Promise<number> {
    const { startFrom } = this.settings;
    if (startFrom === 'origin') return 0;
    if (startFrom === 'end') return this.source.end();
    return startFrom;
  }

  private async deliverUntilStopped(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      this.throwIfLeaseLost();
      const seen = this.notifier.current;
      const { events, next } = await this.outlasting(() => this.source.read(this.cursor, this.settings.batchSize), signal).catch(
        (error: unknown) => {
          if (signal.aborted) return { events: [], next: this.cursor };
          throw error;
        },
      );
      for (const event of events) {
        if (signal.aborted) return;
        this.throwIfLeaseLost(); // not one event more without it
        await this.deliver(event, signal);
        this.cursor = this.source.cursorOf(event);
        await this.lease?.handled(this.cursor);
      }
      const moved = next !== this.cursor;
      this.cursor = next;
      if (events.length === 0 && !moved) {
        this.markCaughtUp();
        // A lost lease ends the wait too: the run stands by (or stops) at once, not at the next event.
        const waiting = this.lease ? [signal, this.lease.lostSignal] : signal;
        await this.notifier.wait(seen, this.settings.pollIntervalMs, waiting, this.source.concerns);
      }
    }
  }

  /**
   * Calls the handler, retrying with exponential backoff and jitter; past the last attempt it
   * halts (throws) or, with `onFailure: 'skip'`, records a failed delivery and returns.
   */
  private deliver(event: RecordedEvent, signal: AbortSignal): Promise<void> {
    return traced(SpanNames.deliver, this.deliveryAttributes(event), (span) => this.deliverWithRetries(event, signal, span), {
      ...continuing(event),
      kind: SpanKind.CONSUMER,
    });
  }

  private async deliverWithRetries(event: RecordedEvent, signal: AbortSignal, span: Span): Promise<void> {
    const { maxAttempts } = this.settings.retry;
    for (let attempt = 1; ; attempt++) {
      // A retry is an event started again: not without the lease (another process may have it now).
      this.throwIfLeaseLost();
      try {
        await this.handle(event);
        this.report?.delivered(this.name ?? this.source.streamId, 'handled');
        span.setAttribute('event_store.attempts', attempt);
        return;
      } catch (error) {
        span.addEvent('handler failed', { 'event_store.attempt': attempt, 'exception.message': String(error) });
        if (attempt >= maxAttempts || signal.aborted) {
          this.report?.delivered(this.name ?? this.source.streamId, 'failed');
          span.setAttribute('event_store.attempts', attempt);
          if (this.settings.onFailure === 'skip') recordFailure(span, error); // a halt's error is recorded as it leaves the span
          return this.gaveUp(event, attempt, error);
        }
        this.report?.delivered(this.name ?? this.source.streamId, 'retried');
        const delay = backoff(this.settings.retry, attempt);
        this.logger.debug(`Handler failed on event ${event.eventId} (attempt ${attempt}); retrying in ${delay} ms`);
        await sleepUnless(delay, this.lease ? [signal, this.lease.lostSignal] : [signal]);
      }
    }
  }

  private deliveryAttributes(event: RecordedEvent): Attributes {
    return { 'event_store.subscription': this.name ?? this.source.streamId, ...eventAttributes(event) };
  }

  /** Throws `LeaseLostError` once the lease of this run is lost (a run without a lease never). */
  private throwIfLeaseLost(): void {
    if (this.lease?.isLost) {
      throw new LeaseLostError(`Subscription ${this.name} lost its lease`);
    }
  }

  private async gaveUp(event: RecordedEvent, attempts: number, error: unknown): Promise<void> {
    const where = `event ${event.eventId} (${event.eventType}, ${event.streamId}@${event.streamVersion})`;
    if (this.settings.onFailure === 'halt') {
      this.logger.error(`Handler failed on ${where} ${attempts} time(s); halting at it: ${String(error)}`);
      throw error;
    }
    // The process that holds the lease now delivers it; a failure recorded here would deliver it again.
    this.throwIfLeaseLost();
    this.logger.warn(`Handler failed on ${where} ${attempts} time(s); recorded as a failed delivery, going on: ${String(error)}`);
    await this.failures?.record(this.name!, event, 1, error, backoff(this.settings.failedRetry, 1));
  }

  /**
   * Retries this subscription's due failed deliveries (the retry worker calls it): a success
   * forgets the failure, a failure schedules the next attempt with backoff, or dead-letters it
   * past `failedRetry.maxAttempts`. Only the process holding the lease retries.
   */
  async retryDue(
    readEvent: (eventId: string, viaStream: string | undefined) => Promise<RecordedEvent | undefined>,
    limit = 100,
  ): Promise<RetryReport> {
    const report: RetryReport = { retried: 0, succeeded: 0, deadLettered: 0 };
    if (!this.failures || !this.name || !this.lease?.isHeld) {
      return report;
    }
    for (const failure of await this.failures.due(this.name, limit)) {
      if (!this.lease.isHeld) break; // its new holder retries the rest
      report.retried++;
      // Read through the subscribed stream, so that an event it holds as a link comes with its link.
      const event = await readEvent(failure.eventId, this.source.streamId === '$all' ? undefined : this.source.streamId);
      if (event === undefined) {
        await this.failures.resolve(this.name, failure.eventId); // hard-deleted since: nothing to deliver
        continue;
      }
      const outcome = await this.retryOne(event, failure.attempts + 1);
      report.succeeded += outcome === 'succeeded' ? 1 : 0;
      report.deadLettered += outcome === 'dead' ? 1 : 0;
    }
    return report;
  }

  /** One retry of a failed delivery, in a span of the trace that wrote the event. */
  private retryOne(event: RecordedEvent, attempts: number): Promise<'succeeded' | 'failed' | 'dead'> {
    const attributes = { ...this.deliveryAttributes(event), 'event_store.attempts': attempts };
    const options = { ...continuing(event), kind: SpanKind.CONSUMER };
    return traced(
      SpanNames.retryFailedDelivery,
      attributes,
      async (span) => {
        try {
          await this.handle(event);
          await this.failures!.resolve(this.name!, event.eventId);
          return 'succeeded';
        } catch (error) {
          const dead = attempts > this.settings.failedRetry.maxAttempts;
          recordFailure(span, error);
          span.setAttribute('event_store.dead_lettered', dead);
          await this.failures!.record(this.name!, event, attempts, error, dead ? null : backoff(this.settings.failedRetry, attempts));
          return dead ? 'dead' : 'failed';
        }
      },
      options,
    );
  }

  /** One handler call, after any call already running (the loop and the worker take turns). */
  private handle(event: RecordedEvent): Promise<void> {
    const call = this.handling.then(() => this.handler(event));
    this.handling = call.catch(() => undefined);
    return call;
  }

  private markCaughtUp(): void {
    this.reachedEnd = true;
    const waiters = this.caughtUpWaiters;
    this.caughtUpWaiters = [];
    waiters.forEach((resolve) => resolve());
  }
}

function settingsOf(options: SubscriptionOptions): Settings {
  return {
    startFrom: options.startFrom ?? 'origin',
    batchSize: options.batchSize ?? 100,
    pollIntervalMs: options.pollIntervalMs ?? 1_000,
    retry: {
      maxAttempts: options.retry?.maxAttempts ?? 5,
      initialDelayMs: options.retry?.initialDelayMs ?? 100,
      maxDelayMs: options.retry?.maxDelayMs ?? 5_000,
    },
    onFailure: options.onFailure ?? 'halt',
    failedRetry: {
      maxAttempts: options.failedRetry?.maxAttempts ?? 10,
      initialDelayMs: options.failedRetry?.initialDelayMs ?? 1_000,
      maxDelayMs: options.failedRetry?.maxDelayMs ?? 300_000,
    },
  };
}

/**
 * Sleeps `ms`, or less if one of `signals` aborts. Listeners are removed afterwards: `AbortSignal.any`
 * would leave one on each long-lived signal per call.
 */
async function sleepUnless(ms: number, signals: readonly AbortSignal[]): Promise<void> {
  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  for (const signal of signals) signal.addEventListener('abort', onAbort, { once: true });
  try {
    if (!signals.some((signal) => signal.aborted)) await sleep(ms, undefined, { signal: stop.signal }).catch(() => undefined);
  } finally {
    for (const signal of signals) signal.removeEventListener('abort', onAbort);
  }
}

/** The delay before attempt `attempt + 1`: doubled each time, capped, with jitter (50–100%). */
function backoff({ initialDelayMs, maxDelayMs }: Backoff, attempt: number): number {
  return Math.round(Math.min(maxDelayMs, initialDelayMs * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2));
}
