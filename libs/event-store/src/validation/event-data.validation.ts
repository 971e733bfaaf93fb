import { randomUUID } from 'node:crypto';
import { InvalidArgumentError } from '../errors/invalid-argument.error.js';
import type { EventData, JsonObject } from '../types/event-data.js';
import { assertName } from './stream-id.validation.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An event ready for `append_to_stream`: every default applied, ids lower-cased. */
export interface NewEventRecord {
  event_id: string;
  event_type: string;
  schema_version: number;
  data: JsonObject;
  metadata: JsonObject;
  causation_id: string | null;
  correlation_id: string | null;
}

/**
 * Checks a whole append before anything is sent, and gives each event its id now, so that a retry
 * of the same call re-sends the same ids and is idempotent.
 */
export function toNewEventRecords(events: unknown, maxEvents: number): NewEventRecord[] {
  if (!Array.isArray(events) || events.length === 0) {
    throw new InvalidArgumentError('An append needs at least one event', { events: Array.isArray(events) ? 0 : typeof events });
  }
  if (events.length > maxEvents) {
    throw new InvalidArgumentError(`An append takes at most ${maxEvents} events, got ${events.length}: split it`, {
      count: events.length,
      max: maxEvents,
    });
  }
  const records = events.map((event: unknown, index) => toRecord(event, index));
  refuseRepeatedIds(records);
  return records;
}

function toRecord(event: unknown, index: number): NewEventRecord {
  if (!isObject(event)) {
    throw invalid(index, 'must be an object with eventType and data');
  }
  const { eventId, eventType, schemaVersion = 1, data, metadata = {}, causationId, correlationId } = event as Partial<EventData>;
  assertName(eventType, `events[${index}].eventType`);
  if (!Number.isSafeInteger(schemaVersion) || schemaVersion < 1) {
    throw invalid(index, `schemaVersion must be an integer >= 1, got ${String(schemaVersion)}`);
  }
  if (!isObject(data) || !isObject(metadata)) {
    throw invalid(index, 'data and metadata must be JSON objects');
  }
  return {
    event_id: uuid(eventId, index, 'eventId') ?? randomUUID(),
    event_type: eventType,
    schema_version: schemaVersion,
    data: data as JsonObject,
    metadata: metadata as JsonObject,
    causation_id: uuid(causationId, index, 'causationId'),
    correlation_id: uuid(correlationId, index, 'correlationId'),
  };
}

function uuid(value: unknown, index: number, name: string): string | null {
  if (value === undefined || value === null) {
    return null;
  }
  if (typeof value !== 'string' || !UUID.test(value)) {
    throw invalid(index, `${name} must be a UUID, got ${JSON.stringify(value)}`);
  }
  return value.toLowerCase();
}

function refuseRepeatedIds(records: NewEventRecord[]): void {
  const seen = new Set<string>();
  for (const record of records) {
    if (seen.has(record.event_id)) {
      throw new InvalidArgumentError(`Event id ${record.event_id} appears twice in one append`, { eventId: record.event_id });
    }
    seen.add(record.event_id);
  }
}

function isObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(index: number, problem: string): InvalidArgumentError {
  return new InvalidArgumentError(`events[${index}]: ${problem}`, { index });
}
