import { InvalidArgumentError } from '../errors/invalid-argument.error.js';
import type { EventSerializer } from '../serialization/event-serializer.js';
import type { StreamWrite } from '../storage/events.repository.js';
import type { AppendOptions, StreamAppend } from '../types/append-result.js';
import { refuseRepeatedIds, type NewEventRecord } from '../validation/event-data.validation.js';
import { expectedVersionCode } from '../validation/expected-version.validation.js';
import { assertStreamId } from '../validation/stream-id.validation.js';
import { MAX_STREAMS_PER_APPEND } from '../validation/tags.validation.js';

/**
 * The entries of an `appendToStreams` call, checked and serialized: 1 to 100 entries, each stream
 * once, each expected version valid, at most `maxAppendEvents` events in all, no event id twice.
 * Shared by `EventStore.appendToStreams` and the caller's transaction, so both refuse alike.
 */
export function toStreamWrites(
  entries: ReadonlyArray<StreamAppend>,
  options: AppendOptions,
  serializer: EventSerializer,
  maxAppendEvents: number,
): StreamWrite[] {
  if (!Array.isArray(entries) || entries.length === 0 || entries.length > MAX_STREAMS_PER_APPEND) {
    throw new InvalidArgumentError(`streams must be an array of 1 to ${MAX_STREAMS_PER_APPEND} entries: split a larger write`, {
      streams: Array.isArray(entries) ? entries.length : typeof entries,
    });
  }
  const seen = new Set<string>();
  let total = 0;
  const writes = entries.map((entry: StreamAppend, index) => {
    const at = `streams[${index}]`;
    assertStreamId(entry?.streamId, `${at}.streamId`);
    if (seen.has(entry.streamId)) {
      throw new InvalidArgumentError(`${at}: stream '${entry.streamId}' appears twice: give each stream one entry`, {
        [`${at}.streamId`]: entry.streamId,
      });
    }
    seen.add(entry.streamId);
    const expected = expectedVersionCode(entry.expectedVersion, `${at}.expectedVersion`);
    if (entry.events !== undefined && !Array.isArray(entry.events)) {
      throw new InvalidArgumentError(`${at}.events must be an array of events`, { [`${at}.events`]: typeof entry.events });
    }
    const given = entry.events === undefined || entry.events.length === 0 ? undefined : entry.events;
    const events = given && serializer.toRecords(given, maxAppendEvents, options, entry.streamId, `${at}.events`);
    total += events?.length ?? 0;
    return { streamId: entry.streamId, expected, expectedLabel: entry.expectedVersion, ...(events && { events }) };
  });
  if (total > maxAppendEvents) {
    throw new InvalidArgumentError(`An append takes at most ${maxAppendEvents} events, got ${total}: split it`, {
      count: total,
      max: maxAppendEvents,
    });
  }
  refuseRepeatedIds(writes.flatMap((write) => write.events ?? []));
  return writes;
}

/** `writes` with their events replaced, in order, by `records` (as many as they hold). */
export function withEventRecords(writes: StreamWrite[], records: NewEventRecord[]): StreamWrite[] {
  let next = 0;
  return writes.map((write) => (write.events === undefined ? write : { ...write, events: write.events.map(() => records[next++]!) }));
}
