import { AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler, TraceIdRatioBasedSampler, type Sampler } from '@opentelemetry/sdk-trace';

/** Where spans go: nowhere (tracing off), an OTLP/HTTP collector, or the console. */
export type TracesExporter = 'none' | 'otlp' | 'console';

/** The samplers of the standard `OTEL_TRACES_SAMPLER` variable. */
export const SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;

/** The samplers' names. */
export type SamplerName = (typeof SAMPLERS)[number];

/** The service's tracing, from the standard `OTEL_*` variables (docs/tracing.md). */
export interface TracingSettings {
  /** OTEL_TRACES_EXPORTER, default `none`: tracing off; `none` too when OTEL_SDK_DISABLED=true. */
  exporter: TracesExporter;
  /** OTEL_SERVICE_NAME, default `event-store-service`. */
  serviceName: string;
  /**
   * The OTLP/HTTP traces URL: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as it is, else
   * OTEL_EXPORTER_OTLP_ENDPOINT + `/v1/traces`, else `http://localhost:4318/v1/traces`.
   */
  otlpTracesUrl: string;
  /** OTEL_TRACES_SAMPLER, default `parentbased_always_on`. */
  sampler: SamplerName;
  /** OTEL_TRACES_SAMPLER_ARG, the ratio of the `traceidratio` samplers, default 1. */
  samplerRatio: number;
}

/** The OTLP/HTTP traces URL the standard variables name. */
export function otlpTracesUrl(tracesEndpoint: string | undefined, endpoint: string | undefined): string {
  if (tracesEndpoint !== undefined) return tracesEndpoint;
  if (endpoint !== undefined) return `${endpoint.replace(/\/+$/, '')}/v1/traces`;
  return 'http://localhost:4318/v1/traces';
}

/** The sampler `settings` name. */
export function samplerOf(settings: Pick<TracingSettings, 'sampler' | 'samplerRatio'>): Sampler {
  const ratio = new TraceIdRatioBasedSampler(settings.samplerRatio);
  switch (settings.sampler) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return ratio;
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: ratio });
  }
}
