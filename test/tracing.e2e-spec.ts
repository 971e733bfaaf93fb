import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import request from 'supertest';
import { eventually } from './helpers/eventually.js';
import { freePort, runService } from './helpers/service-process.js';
import { createTestApp, type TestApp } from './helpers/test-app.js';
import { testConnection, testDatabaseEnv } from './helpers/test-database.js';
import { uniqueSchema } from './helpers/test-store.js';
import { startWebhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver.js';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;
const fast = { retry: { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 10 } };

describe('traces of the service (in-memory exporter)', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  let t: TestApp;
  let receiver: WebhookReceiver;

  const spans = (traceId: string, name?: string): ReadableSpan[] =>
    exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === traceId && (name === undefined || span.name === name));
  const only = (traceId: string, name: string): ReadableSpan => {
    const found = spans(traceId, name);
    expect(found.map((span) => span.name)).toEqual([name]);
    return found[0]!;
  };
  const isChild = (child: ReadableSpan, parent: ReadableSpan): boolean => child.parentSpanContext?.spanId === parent.spanContext().spanId;
  const serverSpanOf = (path: string): ReadableSpan | undefined =>
    exporter.getFinishedSpans().find((span) => span.kind === SpanKind.SERVER && span.attributes['url.path'] === path);

  beforeAll(async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(provider);
    receiver = await startWebhookReceiver();
    t = await createTestApp({ WEBHOOK_ALLOWED_URLS: `${receiver.url}/hooks/`, WEBHOOK_SYNC_INTERVAL_MS: '200' }, 'traces');
  });
  afterAll(async () => {
    await t.close();
    await receiver.close();
    trace.disable();
    propagation.disable();
    context.disable();
    await provider.shutdown();
  });

  it("traces one HTTP append through the append, the delivery and the webhook call, whose receiver gets the trace's traceparent", async () => {
    const created = await request(t.http)
      .post('/subscriptions')
      .send({ name: 'traced', url: `${receiver.url}/hooks/traced`, filter: { streamPrefix: 'traced-' }, ...fast });
    expect(created.status).toBe(201);
    const appended = await request(t.http)
      .post('/streams/traced-1/events')
      .send({ expectedVersion: 'no_stream', events: [{ eventType: 'Scored', data: { n: 1 } }] });
    expect(appended.status).toBe(201);

    await eventually(() => receiver.received.some((hit) => hit.path === '/hooks/traced'));
    const hit = receiver.received.find((candidate) => candidate.path === '/hooks/traced')!;
    const [, traceId, senderSpanId] = TRACEPARENT.exec(String(hit.headers.traceparent))!;

    await eventually(() => spans(traceId!, 'event-store.deliver').length === 1);
    const server = only(traceId!, 'POST /streams/:streamId/events');
    expect(server.kind).toBe(SpanKind.SERVER);
    expect(server.attributes).toMatchObject({ 'http.route': '/streams/:streamId/events', 'http.response.status_code': 201 });
    const append = only(traceId!, 'event-store.append');
    expect(isChild(append, server)).toBe(true);
    expect(append.attributes).toMatchObject({ 'event_store.stream_id': 'traced-1', 'event_store.to_version': 1 });
    const delivery = only(traceId!, 'event-store.deliver');
    expect(isChild(delivery, append)).toBe(true);
    expect(delivery.attributes['event_store.subscription']).toBe('webhook:traced'); // the store's name of the webhook's subscription
    const webhook = only(traceId!, 'POST');
    expect(webhook.kind).toBe(SpanKind.CLIENT);
    expect(isChild(webhook, delivery)).toBe(true);
    expect(webhook.spanContext().spanId).toBe(senderSpanId);
    expect(webhook.attributes).toMatchObject({ 'http.response.status_code': 200, 'url.full': `${receiver.url}/hooks/traced` });
  });

  it("continues a caller's traceparent, and records a conflict as an error with its code", async () => {
    const traceId = randomUUID().replace(/-/g, '');
    const callerSpan = 'b7ad6b7169203331';
    const traceparent = `00-${traceId}-${callerSpan}-01`;
    const body = { expectedVersion: 'no_stream', events: [{ eventType: 'Scored', data: { n: 1 } }] };
    expect((await request(t.http).post('/streams/conflict-1/events').set('traceparent', traceparent).send(body)).status).toBe(201);
    expect((await request(t.http).post('/streams/conflict-1/events').set('traceparent', traceparent).send(body)).status).toBe(409);

    await eventually(() => spans(traceId, 'POST /streams/:streamId/events').length === 2);
    const servers = spans(traceId, 'POST /streams/:streamId/events');
    expect(servers.map((span) => span.parentSpanContext?.spanId)).toEqual([callerSpan, callerSpan]);
    expect(servers.map((span) => span.attributes['http.response.status_code']).sort()).toEqual([201, 409]);
    expect(servers.every((span) => span.status.code !== SpanStatusCode.ERROR)).toBe(true); // a 4xx is the caller's
    const failed = spans(traceId, 'event-store.append').filter((span) => span.status.code === SpanStatusCode.ERROR);
    expect(failed.map((span) => span.attributes['event_store.error_code'])).toEqual(['WRONG_EXPECTED_VERSION']);
  });

  it('records a failed webhook delivery as errors on the webhook call and the delivery', async () => {
    receiver.answer = (hit) => (hit.path === '/hooks/failing' ? 500 : 200);
    const created = await request(t.http)
      .post('/subscriptions')
      .send({ name: 'failing', url: `${receiver.url}/hooks/failing`, filter: { streamPrefix: 'failing-' }, ...fast });
    expect(created.status).toBe(201);
    const appended = await request(t.http)
      .post('/streams/failing-1/events')
      .send({ expectedVersion: 'no_stream', events: [{ eventType: 'Scored', data: { n: 1 } }] });
    expect(appended.status).toBe(201);

    await eventually(() => serverSpanOf('/streams/failing-1/events') !== undefined);
    const traceId = serverSpanOf('/streams/failing-1/events')!.spanContext().traceId;
    await eventually(() => spans(traceId, 'event-store.deliver').length === 1);
    const delivery = only(traceId, 'event-store.deliver');
    expect(delivery.status.code).toBe(SpanStatusCode.ERROR);
    expect(delivery.attributes['event_store.attempts']).toBe(2);
    const calls = spans(traceId, 'POST');
    expect(calls).toHaveLength(2);
    expect(calls.every((span) => span.status.code === SpanStatusCode.ERROR && span.attributes['http.response.status_code'] === 500)).toBe(
      true,
    );
    expect(
      receiver.received.filter((hit) => hit.path === '/hooks/failing').map((hit) => TRACEPARENT.exec(String(hit.headers.traceparent))?.[1]),
    ).toEqual([traceId, traceId]);
  });
});

describe('traces of the service process (OTLP exporter)', () => {
  it('sends the spans of a request to the OTLP/HTTP endpoint of OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, named by OTEL_SERVICE_NAME', async () => {
    const exports: Array<{ path: string; body: OtlpExport }> = [];
    const collector = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        exports.push({ path: req.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpExport });
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}/v1/traces`;
    const port = await freePort();
    const schema = uniqueSchema('traces-otlp');
    const service = runService({
      ...testDatabaseEnv(schema),
      PORT: String(port),
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: endpoint,
      OTEL_SERVICE_NAME: 'traced-store',
    });
    try {
      await eventually(() => service.output().includes('listening on http://localhost'), 60_000);
      const answer = await fetch(`http://127.0.0.1:${port}/streams/otlp-1/events`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ expectedVersion: 'no_stream', events: [{ eventType: 'Scored', data: { n: 1 } }] }),
      });
      expect(answer.status).toBe(201);
      service.stop(); // the last batch is sent at shutdown
      expect((await service.exited).code).toBe(0);
      const spans = exports.flatMap(({ body }) =>
        body.resourceSpans.flatMap((resource) =>
          resource.scopeSpans.flatMap((scope) => scope.spans.map((span) => ({ ...span, service: serviceName(resource) }))),
        ),
      );
      expect(exports.every((hit) => hit.path === '/v1/traces')).toBe(true);
      const server = spans.find((span) => span.name === 'POST /streams/:streamId/events');
      const append = spans.find((span) => span.name === 'event-store.append');
      expect(server?.service).toBe('traced-store');
      expect(append?.traceId).toBe(server?.traceId);
      expect(append?.parentSpanId).toBe(server?.spanId);
    } finally {
      service.stop();
      await service.exited;
      await new Promise((resolve) => collector.close(resolve));
      const sql = new pg.Pool({ ...testConnection(), max: 1 });
      await sql.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await sql.end();
    }
  });
});

/** The part of an OTLP/HTTP JSON export the test reads. */
interface OtlpExport {
  resourceSpans: Array<{
    resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> };
    scopeSpans: Array<{ spans: Array<{ name: string; traceId: string; spanId: string; parentSpanId?: string }> }>;
  }>;
}

function serviceName(resource: OtlpExport['resourceSpans'][number]): string | undefined {
  return resource.resource.attributes.find((attribute) => attribute.key === 'service.name')?.value.stringValue;
}
