import {
  context,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type Tracer,
} from '@opentelemetry/api';

/** The instrumentation scope of the store's spans (docs/tracing.md). */
export const TRACER_NAME = '@game-bot/event-store';

/** Where a span starts and what it points at. */
export interface TracedOptions {
  /** Default `INTERNAL`. */
  kind?: SpanKind;
  /** The parent; default the active context. */
  parent?: Context;
  links?: Link[];
}

/**
 * The tracer of the moment. Looked up per span, not once: a host app may register its provider
 * after the store is made, or replace it (the bench does), and without one this is the API's
 * no-op tracer, whose spans cost an object each.
 */
function tracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

/**
 * Runs `work` in a span named `name`, active for the work's duration (so that spans and stored
 * trace contexts made inside are its children). A failure is recorded on the span, with the
 * store's error code as `event_store.error_code`, and rethrown.
 */
export function traced<T>(name: string, attributes: Attributes, work: (span: Span) => Promise<T>, options: TracedOptions = {}): Promise<T> {
  const spanOptions = { kind: options.kind ?? SpanKind.INTERNAL, attributes, links: options.links };
  return tracer().startActiveSpan(name, spanOptions, options.parent ?? context.active(), async (span) => {
    try {
      return await work(span);
    } catch (error) {
      recordFailure(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** A span of something already done (the retry worker's run), from `startTime` to now. */
export function recordSpan(name: string, startTime: number, attributes: Attributes, error?: unknown): void {
  const span = tracer().startSpan(name, { attributes, startTime, root: true });
  if (error !== undefined) recordFailure(span, error);
  span.end();
}

/** Marks `span` failed with `error`: its exception event, ERROR status and the store's error code. */
export function recordFailure(span: Span, error: unknown): void {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') span.setAttribute('event_store.error_code', code);
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}
