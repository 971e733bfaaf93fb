import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, ConsoleSpanExporter, TracerProvider, type SpanExporter } from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { samplerOf, type TracingSettings } from './tracing-settings.js';

/**
 * The OpenTelemetry SDK of the service, when OTEL_TRACES_EXPORTER turns tracing on: a tracer
 * provider (batching its spans to the exporter), the async-local-storage context manager and the
 * W3C trace-context propagator, all registered globally, which the library's spans and the HTTP
 * and webhook spans find through `@opentelemetry/api`. At shutdown the spans still queued are sent.
 */
@Injectable()
export class ServiceTracing implements OnApplicationShutdown {
  private readonly logger = new Logger(ServiceTracing.name);

  private constructor(private readonly provider: TracerProvider | undefined) {}

  /** Starts tracing as `settings` say (nothing for `none`). */
  static start(settings: TracingSettings): ServiceTracing {
    const exporter = exporterOf(settings);
    if (exporter === undefined) return new ServiceTracing(undefined);
    const provider = new TracerProvider({
      resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: settings.serviceName }),
      sampler: samplerOf(settings),
      spanProcessors: [new BatchSpanProcessor({ exporter })],
    });
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(provider);
    return new ServiceTracing(provider);
  }

  /** Sends what is queued and unregisters the SDK. */
  async onApplicationShutdown(): Promise<void> {
    if (this.provider === undefined) return;
    await this.provider.shutdown().catch((error: unknown) => this.logger.warn(`Sending the last spans failed: ${String(error)}`));
    trace.disable();
    propagation.disable();
    context.disable();
  }
}

function exporterOf(settings: TracingSettings): SpanExporter | undefined {
  switch (settings.exporter) {
    case 'none':
      return undefined;
    case 'console':
      return new ConsoleSpanExporter();
    case 'otlp':
      return new OTLPTraceExporter({ url: settings.otlpTracesUrl });
  }
}
