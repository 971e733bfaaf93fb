import type { JsonObject, RecordedEvent } from '../types/event-data.js';
import type { AllFilter } from '../types/read-options.js';

/** Receives the events of a subscription, one at a time, in order; the next waits for it. */
export type EventHandler<T extends object = JsonObject> = (event: RecordedEvent<T>) => Promise<void> | void;

/** Where a subscription starts (a persistent one: only when it is first created). */
export type StartFrom = 'origin' | 'end' | number;

/** Options of a subscription. */
export interface SubscriptionOptions {
  /**
   * `origin` (default): every event; `end`: only events after those stored now; a number: events
   * after that global position (`$all`) or stream version (one stream).
   */
  startFrom?: StartFrom;
  /** Only events of these types (and, for `$all`, of streams with this prefix). */
  filter?: AllFilter;
  /** Events read per page. Default `100`. */
  batchSize?: number;
  /**
   * How often to look for events when no notification comes. The process looks once for all its
   * subscriptions, at the shortest interval any of them asks for. Default `1000` ms.
   */
  pollIntervalMs?: number;
  /** Handler retries: attempts in all (default `5`), first delay (default `100` ms, doubled, with jitter), delay cap (default `5000` ms). */
  retry?: { maxAttempts?: number; initialDelayMs?: number; maxDelayMs?: number };
  /**
   * When a handler still fails after its retries: `halt` (default) stops the subscription at that
   * event, keeping every stream in order; `skip` records a failed delivery and goes on (a
   * persistent subscription's scheduled worker retries it later, then dead-letters it; a transient
   * one only logs it), so later events of that stream may be handled before it.
   */
  onFailure?: 'halt' | 'skip';
  /**
   * Scheduled retries of failed deliveries (persistent, `onFailure: 'skip'`): worker attempts
   * before the delivery is dead-lettered (default `10`), first delay (default `1000` ms, doubled,
   * with jitter), delay cap (default `300000` ms).
   */
  failedRetry?: { maxAttempts?: number; initialDelayMs?: number; maxDelayMs?: number };
  /**
   * `subscribeToAll` only: join a group of competing consumers of this subscription. `$all` is
   * split into `partitions` by stream (each stream always in one partition); each member, in any
   * process, runs its fair share of partitions, rebalanced as members join and leave. Each stream
   * stays in order; streams of different partitions are handled concurrently.
   */
  group?: { partitions: number };
  /** Persistent subscriptions: write the checkpoint after this many handled events. Default `100`. */
  checkpointEvery?: number;
  /** Persistent subscriptions: and at the latest this long after an event was handled. Default `1000` ms. */
  checkpointIntervalMs?: number;
}

/** A running subscription. */
export interface Subscription {
  /** The persistent subscription's name; `undefined` for a transient one. */
  readonly name: string | undefined;
  /** `$all` or the stream id. */
  readonly streamId: string;
  /** The global position (`$all`) or stream version of the last event handled; 0 before any. */
  readonly position: number;
  /**
   * Whether it has reached the end of what was stored and now waits for new events. For `$all`
   * that is the end as readers see it: events of transactions that an older, still open
   * transaction holds back come a moment later (docs/design.md).
   */
  readonly caughtUp: boolean;
  /** Resolves once it has caught up (at once if it has). */
  waitUntilCaughtUp(): Promise<void>;
  /**
   * Settles when it stops: resolves after `unsubscribe`, rejects with the handler's error when a
   * handler kept failing past its retries (the subscription then halts at that event).
   */
  readonly stopped: Promise<void>;
  /** Stops it; a persistent one writes its checkpoint and hands its lease back. */
  unsubscribe(): Promise<void>;
}
