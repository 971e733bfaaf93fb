import { StreamNotFoundError } from '../errors/stream-not-found.error.js';
import { placeInStream, type EventReader } from '../storage/event-reader.js';
import type { RecordedEvent } from '../types/event-data.js';
import type { AllFilter } from '../types/read-options.js';
import type { EventSource } from './event-source.js';
import { allFilterConcerns, streamConcerns, type WakeFilter } from './wake-hints.js';

/** `$all`, optionally filtered; the cursor is a global position. */
export class AllEventSource implements EventSource {
  readonly streamId = '$all';
  readonly concerns: WakeFilter;

  constructor(
    private readonly reads: EventReader,
    private readonly filter: AllFilter | undefined,
  ) {
    this.concerns = allFilterConcerns(filter);
  }

  async read(cursor: number, limit: number): Promise<{ events: RecordedEvent[]; next: number }> {
    const page = await this.reads.readAll('forward', { fromPosition: cursor, maxCount: limit, filter: this.filter });
    return { events: page.events, next: page.nextFromPosition ?? cursor };
  }

  async end(): Promise<number> {
    return this.reads.endOf('$all');
  }

  cursorOf(event: RecordedEvent): number {
    return event.globalPosition;
  }
}

/** One stream, optionally only some event types; the cursor is a stream version. */
export class StreamEventSource implements EventSource {
  private readonly eventTypes?: ReadonlySet<string>;
  readonly concerns: WakeFilter;

  constructor(
    private readonly reads: EventReader,
    readonly streamId: string,
    eventTypes: string[] | undefined,
  ) {
    this.eventTypes = eventTypes && new Set(eventTypes);
    this.concerns = streamConcerns(streamId);
  }

  async read(cursor: number, limit: number): Promise<{ events: RecordedEvent[]; next: number }> {
    let events: RecordedEvent[];
    try {
      events = await this.reads.readStream(this.streamId, 'forward', { fromVersion: cursor + 1, maxCount: limit });
    } catch (error) {
      if (error instanceof StreamNotFoundError) {
        return { events: [], next: cursor }; // not written yet: wait for it
      }
      throw error;
    }
    const last = events.at(-1);
    const next = last === undefined ? cursor : placeInStream(last);
    const types = this.eventTypes;
    return { events: types ? events.filter((event) => types.has(event.eventType)) : events, next };
  }

  async end(): Promise<number> {
    return this.reads.endOf(this.streamId);
  }

  cursorOf(event: RecordedEvent): number {
    return placeInStream(event);
  }
}
