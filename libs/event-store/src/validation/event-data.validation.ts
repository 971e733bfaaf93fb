import { InvalidArgumentError } from '../errors/invalid-argument.error.js';
import type { JsonObject } from '../types/event-data.js';

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
  /** `null` when the event has none. */
  tags: string[] | null;
}

/** Refuses an append that is not a non-empty array of at most `maxEvents` items. */
export function assertAppendSize(events: unknown, maxEvents: number): asserts events is unknown[] {
  if (!Array.isArray(events) || events.length === 0) {
    throw new InvalidArgumentError('An append needs at least one event', { events: Array.isArray(events) ? 0 : typeof events });
  }
  if (events.length > maxEvents) {
    throw new InvalidArgumentError(`An append takes at most ${maxEvents} events, got ${events.length}: split it`, {
      count: events.length,
      max: maxEvents,
    });
  }
}

/** A lower-cased UUID, `null` when absent; refuses anything else. */
export function optionalUuid(value: unknown, name: string): string | null {
  if (value === undefined || value === null) {
    return null;
  }
  if (typeof value !== 'string' || !UUID.test(value)) {
    throw new InvalidArgumentError(`${name} must be a UUID, got ${JSON.stringify(value)}`, { [name]: value });
  }
  return value.toLowerCase();
}

/** Refuses a schema version that is not an integer >= 1. */
export function assertSchemaVersion(value: unknown, name: string): asserts value is number {
  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    throw new InvalidArgumentError(`${name} must be an integer >= 1, got ${String(value)}`, { [name]: value });
  }
}

/** `true` for a non-null object that is not an array. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Refuses an append that holds one event id twice. */
export function refuseRepeatedIds(records: NewEventRecord[]): void {
  const seen = new Set<string>();
  for (const record of records) {
    if (seen.has(record.event_id)) {
      throw new InvalidArgumentError(`Event id ${record.event_id} appears twice in one append`, { eventId: record.event_id });
    }
    seen.add(record.event_id);
  }
}
