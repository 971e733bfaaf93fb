import { SetMetadata } from '@nestjs/common';
import type { AllFilter } from '../types/read-options.js';

/** Metadata key of {@link Projection}. */
export const PROJECTION = Symbol('event-store:projection');

/** Options of {@link Projection}. */
export interface ProjectionOptions {
  /** Only these events of `$all` (event types, stream prefix, tags; not partitions). Default: every event. */
  filter?: AllFilter;
  /** Events per batch, each batch one transaction with its checkpoint. Default `100`. */
  batchSize?: number;
  /**
   * A failing batch is rolled back and its events are tried one by one, each up to `maxAttempts`
   * times (default `5`) with a delay of `initialDelayMs` (default `100`), doubled each time, with
   * jitter, capped at `maxDelayMs` (default `5000`); then the projection halts at that event.
   */
  retry?: { maxAttempts?: number; initialDelayMs?: number; maxDelayMs?: number };
  /** How often to look for new events when no notification comes. Default `1000` ms. */
  pollIntervalMs?: number;
  /** Time limit of one batch's transaction. Default: the store's `operationTimeoutMs`. */
  timeoutMs?: number;
}

/** What {@link Projection} records on a class. */
export interface ProjectionMetadata {
  name: string;
  options: ProjectionOptions;
}

/**
 * Declares a provider as a projection (see {@link ProjectionHandler}), started when the application
 * has booted and stopped at its shutdown. One process runs it at a time; the others stand by and
 * take over within a few seconds when it dies.
 *
 * @example
 * @Projection('leaderboard', { filter: { eventTypes: ['GuessProcessed'] }, batchSize: 100 })
 * @Injectable()
 * export class LeaderboardProjection implements ProjectionHandler { ... }
 */
export function Projection(name: string, options: ProjectionOptions = {}): ClassDecorator {
  return SetMetadata<symbol, ProjectionMetadata>(PROJECTION, { name, options });
}
