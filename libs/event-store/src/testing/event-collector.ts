import type { EventStore } from '../event-store.service.js';
import type { Subscription, SubscriptionOptions } from '../subscriptions/subscription-options.js';
import type { JsonObject, RecordedEvent } from '../types/event-data.js';

/** Events a transient subscription has received so far, and ways to wait for more. */
export interface EventCollector<T extends object = JsonObject> {
  /** Every event received, in order. */
  readonly events: ReadonlyArray<RecordedEvent<T>>;
  /** The subscription behind it. */
  readonly subscription: Subscription;
  /** Resolves with the events once at least `count` have arrived; rejects after `timeoutMs` (default 10 s). */
  waitFor(count: number, timeoutMs?: number): Promise<ReadonlyArray<RecordedEvent<T>>>;
  /** Stops the subscription. */
  stop(): Promise<void>;
}

/**
 * Subscribes to a stream or `$all` (transient: nothing is stored) and keeps what arrives, for
 * assertions on what a subscriber sees.
 *
 * @example
 * const collector = collectEvents(t.store, '$all', { filter: { streamPrefix: 'game-' } });
 * await t.store.appendToStream('game-1', 'no_stream', [{ eventType: 'GameStarted', data: {} }]);
 * expect((await collector.waitFor(1)).map((e) => e.eventType)).toEqual(['GameStarted']);
 * await collector.stop();
 */
export function collectEvents<T extends object = JsonObject>(
  store: EventStore,
  streamId: string,
  options: SubscriptionOptions = {},
): EventCollector<T> {
  const events: Array<RecordedEvent<T>> = [];
  let arrived = (): void => undefined;
  const subscription = store.subscribe(
    streamId,
    (event) => {
      events.push(event as unknown as RecordedEvent<T>);
      arrived();
    },
    options,
  );
  return {
    events,
    subscription,
    waitFor: async (count, timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      while (events.length < count) {
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new Error(`Expected ${count} events on ${streamId} within ${timeoutMs} ms, got ${events.length}`);
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          arrived = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      return events;
    },
    stop: () => subscription.unsubscribe(),
  };
}

/**
 * Resolves once the subscription has handled everything stored when it started and waits for new
 * events; rejects after `timeoutMs` (default 10 s) naming the subscription and where it is.
 */
export async function waitUntilCaughtUp(subscription: Subscription, timeoutMs = 10_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const name = subscription.name ?? subscription.streamId;
      reject(new Error(`Subscription ${name} did not catch up within ${timeoutMs} ms (at position ${subscription.position})`));
    }, timeoutMs);
  });
  try {
    await Promise.race([subscription.waitUntilCaughtUp(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
