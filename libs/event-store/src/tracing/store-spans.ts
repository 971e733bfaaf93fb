import type { Attributes, Span } from '@opentelemetry/api';
import type { AppendOptions, AppendResult, StreamAppend, StreamAppendResult } from '../types/append-result.js';
import type { ExpectedVersion } from '../types/expected-version.js';
import { traceMetadata } from './trace-metadata.js';

/** Span names of the store (docs/tracing.md). */
export const SpanNames = {
  append: 'event-store.append',
  read: 'event-store.read',
  deliver: 'event-store.deliver',
  project: 'event-store.project',
  retryFailedDelivery: 'event-store.retry-failed-delivery',
  retryFailedDeliveries: 'event-store.retry-failed-deliveries',
} as const;

const DATABASE: Attributes = { 'db.system.name': 'postgresql' };

/** The attributes of an append to one stream, known before it runs. */
export function appendAttributes(streamId: string, expectedVersion: ExpectedVersion, events: number): Attributes {
  return {
    ...DATABASE,
    'db.operation.name': 'append',
    'event_store.stream_id': streamId,
    'event_store.expected_version': String(expectedVersion),
    'event_store.event_count': events,
  };
}

/** The attributes of an append to several streams. */
export function multiAppendAttributes(streams: unknown): Attributes {
  // Before validation: whatever the caller gave, read without failing (a bad entry is refused after).
  const entries = Array.isArray(streams) ? streams.slice(0, 100).map((entry: unknown) => (entry ?? {}) as Partial<StreamAppend>) : [];
  return {
    ...DATABASE,
    'db.operation.name': 'append',
    'event_store.stream_ids': entries.map((entry) => String(entry.streamId)),
    'event_store.event_count': entries.reduce((sum, entry) => sum + (Array.isArray(entry.events) ? entry.events.length : 0), 0),
  };
}

/** What an append stored, on its span. */
export function recordAppended(span: Span, result: AppendResult | StreamAppendResult): void {
  span.setAttributes({
    'event_store.from_version': result.fromVersion,
    'event_store.to_version': result.toVersion,
    ...(result.firstPosition === null ? {} : { 'event_store.first_position': result.firstPosition }),
    ...(result.lastPosition === null ? {} : { 'event_store.last_position': result.lastPosition }),
  });
}

/**
 * `options` with the span's trace context added to every event's metadata (`$traceparent`),
 * under the caller's own keys: an event or an append that sets them keeps its own.
 * Unchanged when tracing is off.
 */
export function withTraceMetadata(options: AppendOptions, span: Span): AppendOptions {
  const trace = traceMetadata(span);
  if (Object.keys(trace).length === 0) return options;
  return { ...options, metadata: { ...trace, ...options.metadata } };
}

/** The attributes of a read. */
export function readAttributes(streamId: string, direction: 'forward' | 'backward'): Attributes {
  return { ...DATABASE, 'db.operation.name': 'read', 'event_store.stream_id': streamId, 'event_store.direction': direction };
}
