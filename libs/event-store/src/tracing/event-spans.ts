import { ROOT_CONTEXT, trace, type Attributes } from '@opentelemetry/api';
import type { RecordedEvent } from '../types/event-data.js';
import type { TracedOptions } from './store-tracer.js';
import { storedSpanContext } from './trace-metadata.js';

/** The attributes naming one stored event on the span of its handling. */
export function eventAttributes(event: RecordedEvent): Attributes {
  return {
    'event_store.event_id': event.eventId,
    'event_store.event_type': event.eventType,
    'event_store.stream_id': event.streamId,
    'event_store.stream_version': event.streamVersion,
    'event_store.global_position': event.globalPosition,
  };
}

/**
 * Where the handling of `event` goes in the traces: a child of the append that wrote it (its
 * stored trace context), linked to it too, so that backends that draw consumers apart still lead
 * there; with no stored context, under whatever is active.
 */
export function continuing(event: RecordedEvent): Pick<TracedOptions, 'parent' | 'links'> {
  const spanContext = storedSpanContext(event.metadata);
  if (spanContext === undefined) return {};
  return { parent: trace.setSpanContext(ROOT_CONTEXT, spanContext), links: [{ context: spanContext }] };
}
