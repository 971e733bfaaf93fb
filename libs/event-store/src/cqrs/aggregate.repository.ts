import { Inject, Injectable } from '@nestjs/common';
import type { AggregateRoot } from '@nestjs/cqrs';
import { InvalidArgumentError } from '../errors/invalid-argument.error.js';
import { StreamNotFoundError } from '../errors/stream-not-found.error.js';
import { EventStore } from '../event-store.service.js';
import { EventTypeRegistry } from '../serialization/event-type-registry.js';
import type { AppendOptions, AppendResult } from '../types/append-result.js';
import type { RecordedEvent } from '../types/event-data.js';
import type { ExpectedVersion } from '../types/expected-version.js';
import { UnregisteredAggregateEventError } from './unregistered-aggregate-event.error.js';

/** An aggregate replayed from its stream, and the stream version it reflects (0: no stream yet). */
export interface LoadedAggregate<T extends AggregateRoot> {
  /** The aggregate `factory` made, with the stream's events replayed into it and none uncommitted. */
  aggregate: T;
  /** The version of the last event replayed: the expected version of the next `save`. 0 when the stream does not exist. */
  version: number;
}

/**
 * Persists `@nestjs/cqrs` aggregates in the store: `save` appends an `AggregateRoot`'s uncommitted
 * events to its stream with optimistic concurrency, `load` replays a stream into a fresh
 * aggregate. Every event is an instance of a registered `@EventType` class (the bus routes by
 * class, and the store reads only registered types back as instances).
 *
 * Nothing is published in-process: the `EventBus` gets the events from the store, through the
 * persistent subscription of `EventStoreCqrsModule`, once each, also across restarts. So do not
 * `commit()` an aggregate saved here (and leave `autoCommit` off): that would publish its events a
 * second time, before they are even stored.
 *
 * @example
 * @CommandHandler(MakeGuess)
 * export class MakeGuessHandler implements ICommandHandler<MakeGuess> {
 *   constructor(private readonly aggregates: AggregateRepository) {}
 *
 *   async execute({ gameId, word }: MakeGuess): Promise<void> {
 *     const { aggregate: game, version } = await this.aggregates.load(`game-${gameId}`, () => new Game(gameId));
 *     game.guess(word); // applies GuessMade, maybe GameWon
 *     await this.aggregates.save(game, `game-${gameId}`, version);
 *   }
 * }
 */
@Injectable()
export class AggregateRepository {
  /** @internal Made by Nest's injector. */
  constructor(
    @Inject(EventStore) private readonly store: EventStore,
    @Inject(EventTypeRegistry) private readonly registry: EventTypeRegistry,
  ) {}

  /**
   * Appends the aggregate's uncommitted events to `streamId` if the stream is at `expectedVersion`
   * (the store's rules: `WRONG_EXPECTED_VERSION` and nothing stored otherwise), then clears them
   * (`uncommit()`). On failure they stay uncommitted. `options` are the append's (metadata,
   * `causedBy`, condition, timeout). Returns what was appended, or `null` (and checks nothing)
   * when the aggregate has no uncommitted events.
   */
  async save(
    aggregate: AggregateRoot,
    streamId: string,
    expectedVersion: ExpectedVersion,
    options: AppendOptions = {},
  ): Promise<AppendResult | null> {
    if (aggregate.autoCommit) {
      throw new InvalidArgumentError(
        `The aggregate saved to '${streamId}' has autoCommit on: it published its events in-process as they were applied and kept none to save. Turn autoCommit off.`,
        { streamId },
      );
    }
    const events = [...aggregate.getUncommittedEvents()];
    if (events.length === 0) {
      return null;
    }
    events.forEach((event, index) => this.assertRegistered(event, `events[${index}] saved to '${streamId}'`, { streamId, index }));
    const result = await this.store.appendToStream(streamId, expectedVersion, events, options);
    aggregate.uncommit();
    return result;
  }

  /**
   * A fresh aggregate (made by `factory`) with the stream's events replayed into it
   * (`loadFromHistory`, page by page), and the version it reflects. A stream that does not exist
   * gives the fresh aggregate at version 0; a soft-deleted one is `STREAM_DELETED`; an event of an
   * unregistered type is `UNKNOWN_EVENT_TYPE` (it would be lost on the aggregate otherwise).
   */
  async load<T extends AggregateRoot>(streamId: string, factory: (streamId: string) => T): Promise<LoadedAggregate<T>> {
    const aggregate = factory(streamId);
    let version = 0;
    try {
      for await (const event of this.store.streamForward(streamId)) {
        aggregate.loadFromHistory([this.historyEvent(event)]);
        version = event.link?.streamVersion ?? event.streamVersion;
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError && version === 0) {
        return { aggregate, version };
      }
      throw error;
    }
    return { aggregate, version };
  }

  private historyEvent(event: RecordedEvent): object {
    this.assertRegistered(event.data, `Event ${event.eventId} ('${event.eventType}', '${event.streamId}' version ${event.streamVersion})`, {
      eventId: event.eventId,
      eventType: event.eventType,
      streamId: event.streamId,
      streamVersion: event.streamVersion,
    });
    return event.data;
  }

  private assertRegistered(event: unknown, what: string, details: Record<string, unknown>): void {
    if (typeof event === 'object' && event !== null && this.registry.forInstance(event) !== undefined) {
      return;
    }
    const className =
      typeof event === 'object' && event !== null ? ((event.constructor as { name?: string } | undefined)?.name ?? 'Object') : typeof event;
    const described = className === 'Object' ? 'a plain object' : `a ${className}`;
    throw new UnregisteredAggregateEventError(`${what} is ${described}`, { ...details, className });
  }
}
