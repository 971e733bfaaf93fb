import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { context, diag, DiagLogLevel, propagation, trace, type DiagLogger } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, ConsoleSpanExporter, TracerProvider, type SpanExporter } from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { inspect } from 'node:util';
import { samplerOf, type TracingSettings } from './tracing-settings.js';

/**
 * The OpenTelemetry SDK of the service, when OTEL_TRACES_EXPORTER turns tracing on: a tracer
 * provider (batching its spans to the exporter), the async-local-storage context manager and the
 * W3C trace-context propagator, all registered globally, which the library's spans and the HTTP
 * and webhook spans find through `@opentelemetry/api`. The SDK's own warnings and errors (an export
 * that failed) are logged by the `OpenTelemetry` logger. At shutdown the spans still queued are sent,
 * waiting at most {@link SHUTDOWN_TIMEOUT_MS} for an unreachable collector.
 */
@Injectable()
export class ServiceTracing implements OnApplicationShutdown {
  private readonly logger = new Logger(ServiceTracing.name);

  private constructor(
    private readonly provider: TracerProvider | undefined,
    private readonly shutdownTimeoutMs: number,
  ) {}

  /** Starts tracing as `settings` say (nothing for `none`); `shutdownTimeoutMs` is for tests. */
  static start(
    settings: TracingSettings,
    { shutdownTimeoutMs = SHUTDOWN_TIMEOUT_MS }: { shutdownTimeoutMs?: number } = {},
  ): ServiceTracing {
    const exporter = exporterOf(settings);
    if (exporter === undefined) return new ServiceTracing(undefined, shutdownTimeoutMs);
    diag.setLogger(nestDiagLogger(), { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
    const provider = new TracerProvider({
      resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: settings.serviceName }),
      sampler: samplerOf(settings),
      spanProcessors: [new BatchSpanProcessor({ exporter })],
    });
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(provider);
    return new ServiceTracing(provider, shutdownTimeoutMs);
  }

  /** Sends what is queued (waiting at most the shutdown timeout) and unregisters the SDK. */
  async onApplicationShutdown(): Promise<void> {
    if (this.provider === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    const cutShort = new Promise<'cut short'>((resolve) => {
      timer = setTimeout(() => resolve('cut short'), this.shutdownTimeoutMs);
    });
    const sent = this.provider.shutdown().then(
      () => 'sent' as const,
      (error: unknown) => {
        this.logger.warn(`Sending the last spans failed: ${String(error)}`);
        return 'failed' as const;
      },
    );
    const outcome = await Promise.race([sent, cutShort]);
    clearTimeout(timer);
    if (outcome === 'cut short') {
      this.logger.warn(
        `Sending the last spans took longer than ${this.shutdownTimeoutMs} ms: stopped waiting, the spans not yet sent are lost`,
      );
    }
    trace.disable();
    propagation.disable();
    context.disable();
    diag.disable();
  }
}

/** The longest wait for the last spans at shutdown, so that an unreachable collector does not hold SIGTERM up. */
export const SHUTDOWN_TIMEOUT_MS = 5_000;

/** The SDK's diagnostics (WARN and up: failed exports, bad settings) as the service's log lines. */
function nestDiagLogger(): DiagLogger {
  const logger = new Logger('OpenTelemetry');
  const line = (message: string, args: unknown[]): string =>
    [
      message,
      ...args.map((arg) => (typeof arg === 'string' ? arg : arg instanceof Error ? arg.message : inspect(arg, { breakLength: Infinity }))),
    ].join(' ');
  const ignore = (): void => {};
  return {
    error: (message, ...args) => logger.error(line(message, args)),
    warn: (message, ...args) => logger.warn(line(message, args)),
    info: ignore,
    debug: ignore,
    verbose: ignore,
  };
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
