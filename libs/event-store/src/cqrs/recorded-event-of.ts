import type { RecordedEvent } from '../types/event-data.js';

/** The stored events behind the payloads the bridge put on the `EventBus`, kept while the payload lives. */
const recorded = new WeakMap<object, RecordedEvent>();

/** @internal The feed notes which stored event a payload on the bus came from. */
export function rememberRecordedEvent(event: RecordedEvent): void {
  recorded.set(event.data, event);
}

/**
 * The stored event (stream, version, position, ids, metadata) behind an event the bridge put on
 * the `EventBus`; `undefined` for an event that did not come from the store (published in-process).
 *
 * @example
 * @EventsHandler(GameWon)
 * export class AnnounceWinner implements IEventHandler<GameWon> {
 *   async handle(event: GameWon): Promise<void> {
 *     const stored = recordedEventOf(event);
 *     await this.discord.announce(event.winner, { game: stored?.streamId });
 *   }
 * }
 */
export function recordedEventOf<T extends object>(event: T): RecordedEvent<T> | undefined {
  return recorded.get(event) as RecordedEvent<T> | undefined;
}
