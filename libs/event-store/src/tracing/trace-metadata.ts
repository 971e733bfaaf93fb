import { createTraceState, isSpanContextValid, type Span, type SpanContext } from '@opentelemetry/api';
import type { JsonObject } from '../types/event-data.js';

/** The metadata key holding the W3C `traceparent` of the append that wrote an event. */
export const TRACEPARENT_METADATA_KEY = '$traceparent';
/** The metadata key holding the W3C `tracestate` of that append, when it had one. */
export const TRACESTATE_METADATA_KEY = '$tracestate';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * The metadata that carries `span`'s context with the events written under it: `{}` when the span
 * has none (no tracer provider registered, so tracing is off and nothing is added).
 */
export function traceMetadata(span: Span): JsonObject {
  const spanContext = span.spanContext();
  if (!isSpanContextValid(spanContext)) return {};
  const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, '0');
  const metadata: JsonObject = { [TRACEPARENT_METADATA_KEY]: `00-${spanContext.traceId}-${spanContext.spanId}-${flags}` };
  const state = spanContext.traceState?.serialize();
  if (state) metadata[TRACESTATE_METADATA_KEY] = state;
  return metadata;
}

/** The trace context stored with an event by {@link traceMetadata}, or `undefined` (none, or malformed). */
export function storedSpanContext(metadata: JsonObject): SpanContext | undefined {
  const parent = metadata[TRACEPARENT_METADATA_KEY];
  const match = typeof parent === 'string' ? TRACEPARENT.exec(parent) : null;
  if (match === null) return undefined;
  const state = metadata[TRACESTATE_METADATA_KEY];
  const spanContext: SpanContext = {
    traceId: match[1]!,
    spanId: match[2]!,
    traceFlags: parseInt(match[3]!, 16),
    isRemote: true,
    ...(typeof state === 'string' ? { traceState: createTraceState(state) } : {}),
  };
  return isSpanContextValid(spanContext) ? spanContext : undefined;
}
