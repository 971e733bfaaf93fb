import { EventStoreErrorCode } from '../errors/event-store-error-code.js';
import { EventStoreError } from '../errors/event-store.error.js';

/**
 * An aggregate's event is not an instance of a registered event class: an uncommitted event given
 * to `AggregateRepository.save`, or a stored event of a type no class is registered for, met by
 * `load`. The `EventBus` routes events by class and the store restores only registered types as
 * instances, so the bridge needs every aggregate event registered. Code `UNKNOWN_EVENT_TYPE`.
 */
export class UnregisteredAggregateEventError extends EventStoreError {
  readonly code = EventStoreErrorCode.UnknownEventType;

  /** `what`: the event concerned, e.g. `events[0] of game-42 (a GameWon)`. */
  constructor(what: string, details: Record<string, unknown>) {
    super(
      `${what}: aggregate events must be instances of @EventType(...) classes registered with EventStoreModule.forFeature([...])`,
      details,
    );
  }
}
