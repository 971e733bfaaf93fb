import { Inject, Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { SubscriptionManager } from './subscription-manager.js';
import type { Attributes } from '@opentelemetry/api';
import { SpanNames } from '../tracing/store-spans.js';
import { recordSpan } from '../tracing/store-tracer.js';
import type { RetryReport } from '../types/retry-report.js';

/** What the worker has done since the process started, and its own failures. */
export interface FailedDeliveryWorkerStats {
  runs: number;
  retried: number;
  succeeded: number;
  deadLettered: number;
  /** Runs that failed themselves (e.g. the database was down); `@nestjs/schedule` would only log them. */
  failures: number;
  lastError: string | null;
  lastRunAt: Date | null;
}

/**
 * Retries failed deliveries every second (`@nestjs/schedule`; the application imports
 * `ScheduleModule.forRoot()` once, at its root). It counts and records its own failures.
 */
@Injectable()
export class FailedDeliveryWorker {
  private readonly logger = new Logger(FailedDeliveryWorker.name);
  private running = false;
  /** What it has done since the process started. */
  readonly stats: FailedDeliveryWorkerStats = {
    runs: 0,
    retried: 0,
    succeeded: 0,
    deadLettered: 0,
    failures: 0,
    lastError: null,
    lastRunAt: null,
  };

  constructor(@Inject(SubscriptionManager) private readonly subscriptions: SubscriptionManager) {}

  /** One run; skipped while the previous one is still going. */
  @Interval('event-store.failed-deliveries', 1_000)
  async run(): Promise<void> {
    if (this.running) {
      return;
    }
    this.running = true;
    const started = Date.now();
    try {
      const report = await this.subscriptions.retryFailedDeliveries();
      this.stats.retried += report.retried;
      this.stats.succeeded += report.succeeded;
      this.stats.deadLettered += report.deadLettered;
      // A run that found nothing due (nearly all of them, one a second) leaves no span.
      if (report.retried > 0) recordSpan(SpanNames.retryFailedDeliveries, started, runAttributes(report));
    } catch (error) {
      this.stats.failures++;
      this.stats.lastError = String(error);
      this.logger.warn(`Retrying failed deliveries failed: ${String(error)}`);
      recordSpan(SpanNames.retryFailedDeliveries, started, {}, error);
    } finally {
      this.stats.runs++;
      this.stats.lastRunAt = new Date();
      this.running = false;
    }
  }
}

function runAttributes(report: RetryReport): Attributes {
  return {
    'event_store.retried': report.retried,
    'event_store.succeeded': report.succeeded,
    'event_store.dead_lettered': report.deadLettered,
  };
}
