import { CorruptedEventError } from '../errors/corrupted-event.error.js';
import type { EventRow } from '../storage/sql/event-row.js';
import type { JsonObject, RecordedEvent } from '../types/event-data.js';
import { eventChecksum } from './event-checksum.js';

/**
 * Turns a stored row into a {@link RecordedEvent}, after checking its checksum: a row changed
 * outside the store is refused with `CORRUPTED_EVENT` naming the event, never returned.
 */
export function toRecordedEvent(row: EventRow): RecordedEvent {
  const identity = {
    globalPosition: Number(row.global_position),
    streamId: row.stream_id,
    streamVersion: Number(row.stream_version),
    eventId: row.event_id,
  };
  const expected = eventChecksum({
    streamId: row.stream_id,
    streamVersion: row.stream_version,
    eventId: row.event_id,
    eventType: row.event_type,
    schemaVersion: String(row.schema_version),
    data: row.data,
    metadata: row.metadata,
    causationId: row.causation_id,
    correlationId: row.correlation_id,
  });
  if (!row.checksum?.equals(expected)) {
    throw new CorruptedEventError(identity, 'its checksum does not match its content');
  }
  return {
    ...identity,
    eventType: row.event_type,
    schemaVersion: row.schema_version,
    data: parseObject(row.data),
    metadata: parseObject(row.metadata),
    causationId: row.causation_id,
    correlationId: row.correlation_id,
    createdAt: row.created_at,
  };
}

function parseObject(text: string): JsonObject {
  return JSON.parse(text) as JsonObject;
}
