import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ExportResultCode, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { BatchSpanProcessor, TracerProvider, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Operation } from './harness.js';
import { appendEvents, comparePair, type Comparison, type ScenarioContext } from './scenarios.js';

/** How the tracing of appends is measured: what is on, beside "off". */
export type TracingMode = 'off' | 'context' | 'dropped' | 'otlp';

/** Writers of the tracing scenarios. */
export const TRACING_WRITERS = 8;

/** An exporter that drops every span at once: the SDK's whole cost, without sending anything. */
class DroppingExporter implements SpanExporter {
  exported = 0;
  export(spans: ReadableSpan[], done: (result: { code: ExportResultCode }) => void): void {
    this.exported += spans.length;
    done({ code: ExportResultCode.SUCCESS });
  }
  async shutdown(): Promise<void> {}
}

/** A collector stand-in: answers every OTLP/HTTP export 200 after reading it, counting the bytes. */
async function startCollector(): Promise<{ url: string; bytes: () => number; close: () => Promise<void> }> {
  let bytes = 0;
  const server = http.createServer((request, response) => {
    request.on('data', (chunk: Buffer) => (bytes += chunk.length));
    request.on('end', () => response.writeHead(200, { 'Content-Type': 'application/json' }).end('{}'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    bytes: () => bytes,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * The process's tracing, switched per measurement slice: no SDK at all (off), the context manager
 * and propagator alone with no tracer provider (context: what async-local-storage costs), or the
 * SDK as the service sets it up (batching processor, async-local-storage context, W3C propagator) with an
 * exporter that drops spans or the OTLP/HTTP exporter to the collector stand-in.
 */
class TracingSwitch {
  private mode: TracingMode = 'off';

  constructor(private readonly providers: Record<'dropped' | 'otlp', TracerProvider>) {}

  set(mode: TracingMode): void {
    if (mode === this.mode) return;
    trace.disable();
    context.disable();
    propagation.disable();
    if (mode !== 'off') {
      context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
      propagation.setGlobalPropagator(new W3CTraceContextPropagator());
      if (mode !== 'context') trace.setGlobalTracerProvider(this.providers[mode]);
    }
    this.mode = mode;
  }
}

/** What the tracing scenarios measured. */
export interface TracingResults {
  context: Comparison;
  dropped: Comparison;
  otlp: Comparison;
  /** Spans the dropping exporter was handed, and bytes the collector stand-in received. */
  droppedSpans: number;
  otlpBytes: number;
}

/**
 * One-event appends of {@link TRACING_WRITERS} writers (the library, in this process) with tracing
 * off beside tracing on, each pair in alternating slices of one run: the context manager alone, on
 * with spans dropped, and on with spans sent over OTLP/HTTP to a collector stand-in in this process.
 */
export async function measureTracing(scenario: ScenarioContext): Promise<TracingResults> {
  const dropping = new DroppingExporter();
  const collector = await startCollector();
  const processor = (exporter: SpanExporter) => new BatchSpanProcessor({ exporter });
  const providers = {
    dropped: new TracerProvider({ spanProcessors: [processor(dropping)] }),
    otlp: new TracerProvider({ spanProcessors: [processor(new OTLPTraceExporter({ url: collector.url }))] }),
  };
  const tracing = new TracingSwitch(providers);
  const append = appendEvents('trace', 1);
  const under =
    (mode: TracingMode): Operation =>
    (worker) => {
      tracing.set(mode);
      return append(scenario.store, worker);
    };
  try {
    const contextOnly = await comparePair(scenario, TRACING_WRITERS, under('context'), under('off'));
    const dropped = await comparePair(scenario, TRACING_WRITERS, under('dropped'), under('off'));
    const otlp = await comparePair(scenario, TRACING_WRITERS, under('otlp'), under('off'));
    tracing.set('off');
    await Promise.all([providers.dropped.forceFlush(), providers.otlp.forceFlush()]);
    return { context: contextOnly, dropped, otlp, droppedSpans: dropping.exported, otlpBytes: collector.bytes() };
  } finally {
    tracing.set('off');
    await Promise.all([providers.dropped.shutdown(), providers.otlp.shutdown()]);
    await collector.close();
  }
}

/**
 * What tracing off costs per traced call: the store's span helper around an empty operation with
 * no SDK registered, beside the bare operation, timed over many calls in this process.
 */
export async function measureTracingOff(calls = 200_000): Promise<{ tracedNs: number; bareNs: number }> {
  const { traced } = await import('@game-bot/event-store/internal');
  const work = async (): Promise<number> => 1;
  const time = async (run: () => Promise<unknown>): Promise<number> => {
    const started = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) await run();
    return Number(process.hrtime.bigint() - started) / calls;
  };
  const attributes = { 'event_store.stream_id': 'bench', 'event_store.event_count': 1 };
  await time(() => traced('bench', attributes, work)); // warm-up
  await time(work);
  return { tracedNs: await time(() => traced('bench', attributes, work)), bareNs: await time(work) };
}
