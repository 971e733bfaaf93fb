import { SetMetadata } from '@nestjs/common';
import type { SubscriptionOptions } from './subscription-options.js';

/** Metadata key of {@link SubscribeTo}. */
export const SUBSCRIBE_TO = Symbol('event-store:subscribe-to');

/** Options of {@link SubscribeTo}: a `name` makes the subscription persistent. */
export interface SubscribeToOptions extends SubscriptionOptions {
  /** Name of a persistent subscription (checkpoint in PostgreSQL, one process at a time). Default: transient. */
  name?: string;
}

/** What {@link SubscribeTo} records on a method. */
export interface SubscribeToMetadata {
  streamId: string;
  options: SubscribeToOptions;
}

/**
 * Declares a provider method as the handler of a subscription, started when the application has
 * booted and stopped at its shutdown: a game-bot module only writes the handler.
 *
 * @example
 * @Injectable()
 * export class Leaderboard {
 *   @SubscribeTo('$all', { name: 'leaderboard', filter: { eventTypes: ['GuessProcessed'] } })
 *   async onGuess(event: RecordedEvent): Promise<void> { ... }
 * }
 */
export function SubscribeTo(streamId: string, options: SubscribeToOptions = {}): MethodDecorator {
  return SetMetadata<symbol, SubscribeToMetadata>(SUBSCRIBE_TO, { streamId, options });
}
