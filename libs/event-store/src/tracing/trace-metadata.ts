import { isSpanContextValid, type Span, type SpanContext } from '@opentelemetry/api';
import type { JsonObject } from '../types/event-data.js';

/** The metadata key holding the W3C `traceparent` of the append that wrote an event. */
export const TRACEPARENT_METADATA_KEY = '$traceparent';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * The metadata that carries `span`'s context with the events written under it: `{}` unless the
 * span is recorded (no tracer provider registered, or the trace sampled out: nothing is added).
 * The `traceparent` alone: a `tracestate` kept beside an event's own `$traceparent` could belong
 * to another trace.
 */
export function traceMetadata(span: Span): JsonObject {
  const spanContext = span.spanContext();
  if (!span.isRecording() || !isSpanContextValid(spanContext)) return {};
  const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, '0');
  return { [TRACEPARENT_METADATA_KEY]: `00-${spanContext.traceId}-${spanContext.spanId}-${flags}` };
}

/** The trace context stored with an event by {@link traceMetadata}, or `undefined` (none, or malformed). */
export function storedSpanContext(metadata: JsonObject): SpanContext | undefined {
  const parent = metadata[TRACEPARENT_METADATA_KEY];
  const match = typeof parent === 'string' ? TRACEPARENT.exec(parent) : null;
  if (match === null) return undefined;
  const spanContext: SpanContext = { traceId: match[1]!, spanId: match[2]!, traceFlags: parseInt(match[3]!, 16), isRemote: true };
  return isSpanContextValid(spanContext) ? spanContext : undefined;
}
