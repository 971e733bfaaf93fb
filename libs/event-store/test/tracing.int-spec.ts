import { context, createTraceState, propagation, ROOT_CONTEXT, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ExpectedVersion,
  TRACEPARENT_METADATA_KEY,
  WrongExpectedVersionError,
  type RecordedEvent,
  type Subscription,
} from '@game-bot/event-store';
import { eventually } from '../../../test/helpers/eventually.js';
import { createTestStore, someEvents, type TestStore } from '../../../test/helpers/test-store.js';

/** The spans of one trace, by name. */
function spansOf(exporter: InMemorySpanExporter, traceId: string, name?: string): ReadableSpan[] {
  return exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === traceId && (name === undefined || span.name === name));
}

const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;

describe('traces (OpenTelemetry)', () => {
  let t: TestStore;
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const test = trace.getTracer('tracing.int-spec');
  const running: Subscription[] = [];

  beforeAll(async () => {
    t = await createTestStore({}, 'tracing');
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((subscription) => subscription.unsubscribe()));
  });
  afterAll(async () => {
    await t.close();
    trace.disable();
    context.disable();
    propagation.disable();
    await provider.shutdown();
  });

  /** Appended with tracing off, re-sent with it on. */
  const offEvents = someEvents(2).map((event) => ({ ...event, eventId: randomUUID() }));

  it('with no tracer provider registered (tracing off), adds no trace metadata', async () => {
    await t.store.appendToStream('off-1', ExpectedVersion.NoStream, offEvents);
    const events = await t.store.readStreamForward('off-1');
    expect(events.map((event) => event.metadata)).toEqual([{}, {}]);
  });

  describe('with a provider', () => {
    beforeAll(() => {
      context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
      propagation.setGlobalPropagator(new W3CTraceContextPropagator());
      trace.setGlobalTracerProvider(provider);
    });
    beforeEach(() => exporter.reset());

    it('makes an append a child span of the caller and stores its trace context with the events, checksums intact', async () => {
      const [append, traceId] = await test.startActiveSpan('request', async (request) => {
        await t.store.appendToStream('on-1', ExpectedVersion.NoStream, someEvents(2));
        request.end();
        return [spansOf(exporter, request.spanContext().traceId, 'event-store.append')[0]!, request.spanContext().traceId] as const;
      });
      const [request] = spansOf(exporter, traceId, 'request');
      expect(parentOf(append)).toBe(request!.spanContext().spanId);
      expect(append.attributes).toMatchObject({
        'event_store.stream_id': 'on-1',
        'event_store.event_count': 2,
        'event_store.from_version': 1,
        'event_store.to_version': 2,
        'db.system.name': 'postgresql',
      });
      const events = await t.store.readStreamForward('on-1');
      const { spanId } = append.spanContext();
      expect(events.map((event) => event.metadata[TRACEPARENT_METADATA_KEY])).toEqual([
        `00-${traceId}-${spanId}-01`,
        `00-${traceId}-${spanId}-01`,
      ]);
      const reads = exporter.getFinishedSpans().filter((span) => span.name === 'event-store.read');
      expect(reads.map((span) => span.attributes)).toEqual([
        expect.objectContaining({ 'event_store.stream_id': 'on-1', 'event_store.event_count': 2 }),
      ]);
      const verified = await t.store.verify();
      expect(verified.corrupted).toEqual([]);
    });

    it("keeps an event's own $traceparent, and records a conflict as an error with the store's code", async () => {
      const own = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      await t.store.appendToStream('on-2', ExpectedVersion.NoStream, [{ eventType: 'E', data: {}, metadata: { $traceparent: own } }]);
      expect((await t.store.readStreamForward('on-2'))[0]!.metadata[TRACEPARENT_METADATA_KEY]).toBe(own);

      await expect(t.store.appendToStream('on-2', ExpectedVersion.NoStream, someEvents(1))).rejects.toBeInstanceOf(
        WrongExpectedVersionError,
      );
      const failed = exporter
        .getFinishedSpans()
        .filter((span) => span.name === 'event-store.append' && span.status.code === SpanStatusCode.ERROR);
      expect(failed).toHaveLength(1);
      expect(failed[0]!.attributes['event_store.error_code']).toBe('WRONG_EXPECTED_VERSION');
      expect(failed[0]!.events.map((event) => event.name)).toContain('exception');
    });

    it("delivers each event in a span of the append's trace, and the handler's own spans join it", async () => {
      const traceId = await test.startActiveSpan('request', async (request) => {
        await t.store.appendToStream('on-3', ExpectedVersion.NoStream, someEvents(2));
        request.end();
        return request.spanContext().traceId;
      });
      const handled: RecordedEvent[] = [];
      running.push(
        t.store.subscribe('on-3', async (event) => {
          await test.startActiveSpan('handler work', async (span) => span.end());
          handled.push(event);
        }),
      );
      await eventually(() => spansOf(exporter, traceId, 'event-store.deliver').length === 2);
      const [append] = spansOf(exporter, traceId, 'event-store.append');
      const deliveries = spansOf(exporter, traceId, 'event-store.deliver');
      expect(deliveries.map(parentOf)).toEqual([append!.spanContext().spanId, append!.spanContext().spanId]);
      expect(deliveries.map((span) => span.attributes['event_store.stream_version'])).toEqual([1, 2]);
      expect(deliveries[0]!.links.map((link) => link.context.spanId)).toEqual([append!.spanContext().spanId]);
      const work = spansOf(exporter, traceId, 'handler work');
      expect(work.map(parentOf).sort()).toEqual(deliveries.map((span) => span.spanContext().spanId).sort());
      expect(handled).toHaveLength(2);
    });

    it('records a failed delivery as an error, and its retry joins the trace of the append', async () => {
      const traceId = await test.startActiveSpan('request', async (request) => {
        await t.store.appendToStream('on-4', ExpectedVersion.NoStream, someEvents(1));
        request.end();
        return request.spanContext().traceId;
      });
      let broken = true;
      running.push(
        t.store.subscribeToStream(
          'on-4',
          'tracing-on-4',
          () => {
            if (broken) throw new Error('receiver down');
          },
          {
            onFailure: 'skip',
            retry: { maxAttempts: 2, initialDelayMs: 5, maxDelayMs: 5 },
            failedRetry: { initialDelayMs: 10, maxDelayMs: 10 },
          },
        ),
      );
      await eventually(() => spansOf(exporter, traceId, 'event-store.deliver').length === 1);
      const [delivery] = spansOf(exporter, traceId, 'event-store.deliver');
      expect(delivery!.status.code).toBe(SpanStatusCode.ERROR);
      expect(delivery!.attributes['event_store.attempts']).toBe(2);
      expect(delivery!.events.filter((event) => event.name === 'handler failed')).toHaveLength(2);

      broken = false;
      await sleep(20); // due
      await eventually(async () => {
        await t.store.retryFailedDeliveries();
        return spansOf(exporter, traceId, 'event-store.retry-failed-delivery').some((span) => span.status.code !== SpanStatusCode.ERROR);
      });
      const [append] = spansOf(exporter, traceId, 'event-store.append');
      const retries = spansOf(exporter, traceId, 'event-store.retry-failed-delivery');
      expect(retries.every((span) => parentOf(span) === append!.spanContext().spanId)).toBe(true);
      expect(await t.store.listFailedDeliveries('tracing-on-4')).toEqual([]);
    });

    it('takes a re-send as a re-send although its trace context is new, also of an append made with tracing off', async () => {
      const single = someEvents(2).map((event) => ({ ...event, eventId: randomUUID() }));
      const first = await t.store.appendToStream('resend-1', ExpectedVersion.NoStream, single);
      await expect(t.store.appendToStream('resend-1', ExpectedVersion.NoStream, single)).resolves.toEqual(first);
      const tagged = [{ eventType: 'Claimed', data: {}, eventId: randomUUID(), tags: ['word:crane'] }];
      const condition = { failIfEventsMatch: [{ eventTypes: ['Claimed'], tags: ['word:crane'] }] };
      const claimed = await t.store.appendToStream('resend-2', ExpectedVersion.Any, tagged, { condition });
      await expect(t.store.appendToStream('resend-2', ExpectedVersion.Any, tagged, { condition })).resolves.toEqual(claimed);
      const entries = [
        {
          streamId: 'resend-3',
          expectedVersion: ExpectedVersion.NoStream,
          events: someEvents(1).map((e) => ({ ...e, eventId: randomUUID() })),
        },
        {
          streamId: 'resend-4',
          expectedVersion: ExpectedVersion.NoStream,
          events: someEvents(2).map((e) => ({ ...e, eventId: randomUUID() })),
        },
      ];
      const multi = await t.store.appendToStreams(entries);
      await expect(t.store.appendToStreams(entries)).resolves.toEqual(multi);
      await expect(t.store.appendToStream('off-1', ExpectedVersion.NoStream, offEvents)).resolves.toMatchObject({
        fromVersion: 1,
        toVersion: 2,
      });
      expect((await t.store.readStreamForward('off-1')).map((event) => event.metadata)).toEqual([{}, {}]);
      expect(await t.store.readStreamForward('resend-1')).toHaveLength(2);
      expect(await t.store.readStreamForward('resend-4')).toHaveLength(2);
      // The same ids with another payload are still a duplicate.
      await expect(
        t.store.appendToStream('resend-1', ExpectedVersion.NoStream, [{ ...single[0]!, data: { other: true } }]),
      ).rejects.toMatchObject({
        code: 'DUPLICATE_EVENT',
      });
    });

    it("does not run a subscription in its subscriber's context: an event stored without a trace starts its own", async () => {
      // Its own `$traceparent`, not a valid one: nothing to continue (as for events stored before tracing was on).
      const own = { $traceparent: 'not-a-traceparent' };
      await t.store.appendToStream('untraced-1', ExpectedVersion.NoStream, [{ eventType: 'E', data: {}, metadata: own }]);
      const subscriberTrace = await test.startActiveSpan('request that subscribes', async (request) => {
        running.push(t.store.subscribe('untraced-1', () => undefined));
        request.end();
        return request.spanContext().traceId;
      });
      await eventually(() =>
        exporter
          .getFinishedSpans()
          .some((span) => span.name === 'event-store.deliver' && span.attributes['event_store.stream_id'] === 'untraced-1'),
      );
      const delivery = exporter
        .getFinishedSpans()
        .find((span) => span.name === 'event-store.deliver' && span.attributes['event_store.stream_id'] === 'untraced-1')!;
      expect(delivery.spanContext().traceId).not.toBe(subscriberTrace);
    });

    it('takes a re-send inside store.transaction as a re-send too', async () => {
      const events = someEvents(2).map((event) => ({ ...event, eventId: randomUUID() }));
      const entries = [
        {
          streamId: 'tx-resend-2',
          expectedVersion: ExpectedVersion.NoStream,
          events: someEvents(1).map((e) => ({ ...e, eventId: randomUUID() })),
        },
      ];
      const first = await t.store.transaction(async (tx) => [
        await tx.appendToStream('tx-resend-1', ExpectedVersion.NoStream, events),
        await tx.appendToStreams(entries),
      ]);
      const again = await t.store.transaction(async (tx) => [
        await tx.appendToStream('tx-resend-1', ExpectedVersion.NoStream, events),
        await tx.appendToStreams(entries),
      ]);
      expect(again).toEqual(first);
      expect(await t.store.readStreamForward('tx-resend-1')).toHaveLength(2);
      await expect(
        t.store.transaction((tx) => tx.appendToStream('tx-resend-1', ExpectedVersion.NoStream, [{ ...events[0]!, data: { other: true } }])),
      ).rejects.toMatchObject({ code: 'DUPLICATE_EVENT' });
    });

    it('stores no trace context from a span that is not recorded (a caller whose trace is sampled out)', async () => {
      const notSampled = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 0, isRemote: true };
      await context.with(trace.setSpanContext(ROOT_CONTEXT, notSampled), () =>
        t.store.appendToStream('unsampled-1', ExpectedVersion.NoStream, someEvents(1)),
      );
      expect((await t.store.readStreamForward('unsampled-1'))[0]!.metadata).toEqual({});
    });

    it("stores no tracestate: an event's own $traceparent is never paired with another trace's state", async () => {
      const own = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      const caller = {
        traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
        spanId: '00f067aa0ba902b7',
        traceFlags: 1,
        isRemote: true,
        traceState: createTraceState('vendor=abc'),
      };
      await context.with(trace.setSpanContext(ROOT_CONTEXT, caller), () =>
        t.store.appendToStream('state-1', ExpectedVersion.NoStream, [{ eventType: 'E', data: {}, metadata: { $traceparent: own } }]),
      );
      expect((await t.store.readStreamForward('state-1'))[0]!.metadata).toEqual({ $traceparent: own });
    });

    it('refuses a malformed appendToStreams entry as INVALID_ARGUMENT, span attributes read before validation notwithstanding', async () => {
      await expect(t.store.appendToStreams([null as never])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(t.store.transaction((tx) => tx.appendToStreams([undefined as never]))).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
    });

    it("continues the caller's trace inside store.transaction", async () => {
      const traceId = await test.startActiveSpan('request', async (request) => {
        await t.store.transaction(async (tx) => {
          await tx.appendToStream('on-5', ExpectedVersion.NoStream, someEvents(1));
        });
        request.end();
        return request.spanContext().traceId;
      });
      const [append] = spansOf(exporter, traceId, 'event-store.append');
      const [event] = await t.store.readStreamForward('on-5');
      expect(event!.metadata[TRACEPARENT_METADATA_KEY]).toBe(`00-${traceId}-${append!.spanContext().spanId}-01`);
    });
  });
});
