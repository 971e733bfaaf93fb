import { Inject, Injectable } from '@nestjs/common';
import { EVENT_STORE_OPTIONS } from '../configuration/event-store-configuration.module-definition.js';
import type { ResolvedEventStoreOptions } from '../configuration/resolve-event-store-options.js';
import { PersonalDataVault } from '../erasure/personal-data.vault.js';
import { InvalidArgumentError } from '../errors/invalid-argument.error.js';
import { EventSerializer } from '../serialization/event-serializer.js';
import type { RecordedEvent } from '../types/event-data.js';
import type { AllFilter, ReadAllOptions, ReadAllResult, ReadStreamOptions } from '../types/read-options.js';
import { optionalInteger, pageSize } from '../validation/paging.validation.js';
import { assertName, assertStreamId, likePrefix } from '../validation/stream-id.validation.js';
import { assertTags } from '../validation/tags.validation.js';
import { EventStoreObservers } from './event-store-observers.js';
import { EventsRepository, type AllPage, type AllQuery } from './events.repository.js';
import { StreamsRepository } from './streams.repository.js';

/** An event's version in the stream it was read from: its link's version when read through a link. */
export function placeInStream(event: RecordedEvent): number {
  return event.link?.streamVersion ?? event.streamVersion;
}

/** Direction of a read. */
export type ReadDirection = 'forward' | 'backward';

/**
 * Reads of streams and `$all` as users and subscriptions see them: arguments checked, events of
 * registered types restored as instances of their classes (upcast to their latest version), and
 * each read reported to the observers.
 */
@Injectable()
export class EventReader {
  constructor(
    @Inject(EVENT_STORE_OPTIONS) private readonly options: ResolvedEventStoreOptions,
    @Inject(EventsRepository) private readonly events: EventsRepository,
    @Inject(StreamsRepository) private readonly streams: StreamsRepository,
    @Inject(EventSerializer) private readonly serializer: EventSerializer,
    @Inject(EventStoreObservers) private readonly observers: EventStoreObservers,
    @Inject(PersonalDataVault) private readonly vault: PersonalDataVault,
  ) {}

  /** A page of a stream, from `fromVersion` on in `direction`. */
  async readStream(streamId: string, direction: ReadDirection, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    assertStreamId(streamId);
    const fromVersion = optionalInteger(options.fromVersion, 'fromVersion', direction === 'forward' ? 0 : 1);
    const limit = pageSize(options.maxCount, this.options.defaultPageSize, this.options.maxPageSize);
    const started = performance.now();
    const page = await this.events.readStream(streamId, direction, fromVersion, limit);
    this.observers.read('stream', performance.now() - started, page.events.length);
    return await this.typed(page.events);
  }

  /** A stream's events, read page by page as the loop consumes them. */
  async *iterateStream(streamId: string, direction: ReadDirection, options: ReadStreamOptions): AsyncIterable<RecordedEvent> {
    const step = direction === 'forward' ? 1 : -1;
    const limit = pageSize(options.maxCount, this.options.defaultPageSize, this.options.maxPageSize);
    let fromVersion = options.fromVersion;
    for (;;) {
      const events = await this.readStream(streamId, direction, { ...options, maxCount: limit, fromVersion });
      yield* events;
      const last = events.at(-1);
      if (last === undefined || events.length < limit) {
        return;
      }
      fromVersion = placeInStream(last) + step;
      if (fromVersion < 1) {
        return;
      }
    }
  }

  /** A page of `$all` from the cursor `fromPosition` in `direction`. */
  async readAll(direction: ReadDirection, options: ReadAllOptions = {}): Promise<ReadAllResult> {
    const query = this.allQuery(direction, options);
    const started = performance.now();
    const page = await this.events.readAll(query);
    this.observers.read('all', performance.now() - started, page.events.length);
    return { events: await this.typed(page.events), nextFromPosition: nextCursor(query, page) };
  }

  /**
   * One event by id, typed; `undefined` when it is not stored (any more). With `viaStream`, an
   * event linked into that stream comes with its `link`.
   */
  async readEvent(eventId: string, viaStream?: string): Promise<RecordedEvent | undefined> {
    const event = await this.events.readEvent(eventId, viaStream);
    return event && (await this.typed([event]))[0];
  }

  /** See {@link EventStore.endOf}. */
  async endOf(streamId: string): Promise<number> {
    if (streamId === '$all') {
      return (await this.readAll('backward', { maxCount: 1 })).events[0]?.globalPosition ?? 0;
    }
    assertStreamId(streamId);
    return (await this.streams.find(streamId))?.version ?? 0;
  }

  /** Refuses a filter that a `$all` read would refuse. */
  assertFilter(filter: AllFilter | undefined): void {
    if (filter !== undefined) {
      this.allQuery('forward', { filter });
    }
  }

  private allQuery(direction: ReadDirection, options: ReadAllOptions): AllQuery {
    const { maxPageSize, defaultPageSize, filterScanLimit } = this.options;
    const fromPosition = optionalInteger(options.fromPosition, 'fromPosition', 0);
    const { eventTypes, streamPrefix, partition, tags } = options.filter ?? {};
    if (tags !== undefined) {
      assertTags(tags, 'filter.tags');
    }
    if (partition !== undefined && !isPartition(partition)) {
      throw new InvalidArgumentError('filter.partition must be { count: integer >= 1, index: integer from 0 to count - 1 }', { partition });
    }
    if (eventTypes !== undefined && (!Array.isArray(eventTypes) || eventTypes.length === 0)) {
      throw new InvalidArgumentError('filter.eventTypes must be a non-empty array of event types', { eventTypes });
    }
    eventTypes?.forEach((type, index) => assertName(type, `filter.eventTypes[${index}]`));
    const limit = pageSize(options.maxCount, defaultPageSize, maxPageSize);
    return {
      direction,
      fromPosition: direction === 'forward' ? (fromPosition ?? 0) : fromPosition,
      limit,
      eventTypes: eventTypes ?? null,
      streamPattern: streamPrefix === undefined ? null : likePrefix(streamPrefix, 'filter.streamPrefix'),
      scanLimit: Math.max(limit, filterScanLimit),
      partition: partition ?? null,
      tags: tags ?? null,
    };
  }

  /** Events with their sealed personal data opened (or erased), those of registered types as instances of their classes, upcast. */
  private async typed(events: RecordedEvent[]): Promise<RecordedEvent[]> {
    await this.vault.reveal(events);
    return events.map((event) => this.serializer.fromStored(event));
  }
}

/**
 * The cursor after a page of $all: the last event returned when the page is full; otherwise, for
 * a filtered read, as far as it scanned (so the next read does not scan the same events again);
 * `null` when a backward read reached the start.
 */
function nextCursor(query: AllQuery, page: AllPage): number | null {
  const last = page.events.at(-1)?.globalPosition;
  if (page.events.length === query.limit && last !== undefined) {
    return last;
  }
  if (query.direction === 'backward') {
    const reachedStart = page.scanned === undefined || page.scanned < query.scanLimit;
    return reachedStart ? null : (page.scannedTo ?? null);
  }
  return page.scannedTo ?? last ?? query.fromPosition ?? 0;
}

function isPartition(value: unknown): value is { count: number; index: number } {
  const { count, index } = (value ?? {}) as { count?: unknown; index?: unknown };
  return (
    Number.isSafeInteger(count) &&
    (count as number) >= 1 &&
    Number.isSafeInteger(index) &&
    (index as number) >= 0 &&
    (index as number) < (count as number)
  );
}
