import type { RecordedEvent } from '../types/event-data.js';

/**
 * The causation and correlation ids of an event caused by `cause`: the cause's id as causation,
 * and the correlation of the chain it belongs to (its own id when it started the chain).
 *
 * @example
 * await store.appendToStream('score-7', 'any', [{ eventType: 'ScoreUpdated', data, ...causedBy(guess) }]);
 */
export function causedBy(cause: Pick<RecordedEvent, 'eventId' | 'correlationId'>): {
  causationId: string;
  correlationId: string;
} {
  return { causationId: cause.eventId, correlationId: cause.correlationId ?? cause.eventId };
}
