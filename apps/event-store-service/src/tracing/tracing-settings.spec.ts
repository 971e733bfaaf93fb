import { ConsoleLogger, Logger, type LoggerService } from '@nestjs/common';
import { diag, SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import Fastify, { type FastifyInstance } from 'fastify';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { traceRequests } from './http-tracing.js';
import { ServiceTracing } from './service-tracing.js';
import { otlpTracesUrl, type TracingSettings } from './tracing-settings.js';

/** The lines the Nest loggers write while a test runs: level, context, message. */
const logged: Array<[level: string, context: unknown, message: unknown]> = [];
const capture =
  (level: string) =>
  (message: unknown, ...params: unknown[]): void => {
    logged.push([level, params.at(-1), message]);
  };
const captureLogger: LoggerService = { log: capture('log'), error: capture('error'), warn: capture('warn') };

beforeAll(() => Logger.overrideLogger(captureLogger));
afterAll(() => Logger.overrideLogger(new ConsoleLogger()));
beforeEach(() => {
  logged.length = 0;
});

const settings = (overrides: Partial<TracingSettings>): TracingSettings => ({
  exporter: 'none',
  serviceName: 'event-store-service',
  otlpTracesUrl: 'http://localhost:4318/v1/traces',
  sampler: 'always_on',
  samplerRatio: 1,
  ...overrides,
});

describe('otlpTracesUrl', () => {
  it('takes the traces endpoint as given, else the endpoint + /v1/traces, else localhost', () => {
    expect(otlpTracesUrl('http://otel_collector:4318/custom', 'http://ignored:4318')).toBe('http://otel_collector:4318/custom');
    expect(otlpTracesUrl(undefined, 'http://otel_collector:4318/')).toBe('http://otel_collector:4318/v1/traces');
    expect(otlpTracesUrl(undefined, undefined)).toBe('http://localhost:4318/v1/traces');
  });
});

describe('ServiceTracing', () => {
  it("logs the SDK's warnings and errors through the OpenTelemetry logger while tracing is on, and no more after shutdown", async () => {
    const tracing = ServiceTracing.start(settings({ exporter: 'console' }));
    diag.warn('export failed:', new Error('connect ECONNREFUSED 127.0.0.1:4318'));
    diag.error('cannot send', { code: 503 });
    diag.info('not logged');
    expect(logged).toEqual([
      ['warn', 'OpenTelemetry', 'export failed: connect ECONNREFUSED 127.0.0.1:4318'],
      ['error', 'OpenTelemetry', 'cannot send { code: 503 }'],
    ]);
    await tracing.onApplicationShutdown();
    diag.warn('after shutdown');
    expect(logged.filter(([, , message]) => message === 'after shutdown')).toEqual([]);
  });

  it('registers no diagnostics logger with tracing off', async () => {
    const tracing = ServiceTracing.start(settings({ exporter: 'none' }));
    diag.warn('tracing is off');
    expect(logged).toEqual([]);
    await tracing.onApplicationShutdown();
  });

  it('stops waiting for the last spans at the shutdown timeout when the collector does not answer, with a warning', async () => {
    const waiting: http.ServerResponse[] = [];
    const silent = http.createServer((_request, response) => waiting.push(response)); // answers only at the end
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const tracing = ServiceTracing.start(settings({ exporter: 'otlp', otlpTracesUrl: `http://127.0.0.1:${port}/v1/traces` }), {
        shutdownTimeoutMs: 200,
      });
      trace.getTracer('test').startSpan('queued').end();
      const started = performance.now();
      await tracing.onApplicationShutdown();
      expect(performance.now() - started).toBeLessThan(2_000); // the exporter alone waits 10 s
      expect(logged).toContainEqual([
        'warn',
        'ServiceTracing',
        'Sending the last spans took longer than 200 ms: stopped waiting, the spans not yet sent are lost',
      ]);
    } finally {
      // Answered at last, the export the shutdown stopped waiting for ends (no retries outliving the test).
      for (const response of waiting) response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      silent.closeIdleConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

describe('traceRequests', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  let fastify: FastifyInstance;
  let url: string;
  let received: () => void = () => {};
  let release: () => void = () => {};

  const spanOf = async (path: string): Promise<ReadableSpan> => {
    for (let tries = 0; tries < 200; tries++) {
      const span = exporter.getFinishedSpans().find((candidate) => candidate.attributes['url.path'] === path);
      if (span !== undefined) return span;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`no span for ${path}`);
  };

  beforeAll(async () => {
    trace.setGlobalTracerProvider(provider);
    fastify = Fastify();
    traceRequests(fastify);
    fastify.get('/ok', async () => ({ ok: true }));
    fastify.get('/slow/:id', async () => {
      received();
      await new Promise<void>((resolve) => (release = resolve));
      return { late: true };
    });
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(fastify.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    release();
    await fastify.close();
    trace.disable();
    await provider.shutdown();
  });

  it('records the status of an answered request', async () => {
    expect((await fetch(`${url}/ok`)).status).toBe(200);
    const span = await spanOf('/ok');
    expect(span.name).toBe('GET /ok');
    expect(span.attributes).toMatchObject({ 'http.route': '/ok', 'http.response.status_code': 200 });
    expect(span.attributes['http.request.aborted']).toBeUndefined();
  });

  it('records a request whose connection closed before any answer as aborted, with no status code', async () => {
    const handled = new Promise<void>((resolve) => (received = resolve));
    const client = http.get(`${url}/slow/1`);
    client.on('error', () => {}); // the abort below
    await handled;
    client.destroy();
    const span = await spanOf('/slow/1');
    expect(span.name).toBe('GET /slow/:id');
    expect(span.attributes).toMatchObject({ 'http.route': '/slow/:id', 'http.request.aborted': true });
    expect(span.attributes['http.response.status_code']).toBeUndefined();
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
  });
});
