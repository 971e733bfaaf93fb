import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { EventStore } from '@game-bot/event-store';
import { MetricsService } from '../apps/event-store-service/src/metrics/metrics.service.js';
import { eventually } from './helpers/eventually.js';
import { listeningUrl, openEventStream, type SseClient } from './helpers/sse-client.js';
import { createTestApp, type TestApp } from './helpers/test-app.js';

const guess = (n: number, eventType = 'GuessProcessed') => ({ eventType, data: { n } });
const versions = (events: Array<Record<string, unknown>>) => events.map((event) => event.streamVersion);

describe('Server-Sent Events', () => {
  let t: TestApp;
  let base: string;
  let store: EventStore;
  const clients: SseClient[] = [];
  const open = async (path: string, headers?: Record<string, string>): Promise<SseClient> => {
    const client = await openEventStream(`${base}${path}`, headers);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    t = await createTestApp({ SSE_HEARTBEAT_MS: '200' }, 'live');
    base = await listeningUrl(t.http);
    store = t.app.get(EventStore);
  });
  afterEach(() => clients.splice(0).forEach((client) => client.close()));
  afterAll(async () => {
    await t.close();
  });

  it('sends a stream from its start, then live, and resumes right after Last-Event-ID', async () => {
    await store.appendToStream('duel-1', 'no_stream', [guess(1), guess(2), guess(3)]);
    const first = await open('/streams/duel-1/subscribe');
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(versions(await first.take(3))).toEqual([1, 2, 3]);

    const appended = await request(t.http)
      .post('/streams/duel-1/events')
      .send({ expectedVersion: 3, events: [guess(4), guess(5)] });
    expect(appended.status).toBe(201);
    const live = await first.take(5);
    expect(versions(live)).toEqual([1, 2, 3, 4, 5]);
    expect(first.messages.map((message) => message.id)).toEqual(['1', '2', '3', '4', '5']);
    expect(live[4]).toMatchObject({
      streamId: 'duel-1',
      eventType: 'GuessProcessed',
      data: { n: 5 },
      globalPosition: appended.body.lastPosition,
    });
    first.close();

    await store.appendToStream('duel-1', 5, [guess(6)]);
    const resumed = await open('/streams/duel-1/subscribe', { 'Last-Event-ID': '4' });
    expect(versions(await resumed.take(2))).toEqual([5, 6]);
    await store.appendToStream('duel-1', 6, [guess(7)]);
    expect(versions(await resumed.take(3))).toEqual([5, 6, 7]);
    await sleep(300);
    expect(resumed.messages).toHaveLength(3); // nothing twice
  });

  it('starts a stream at fromVersion, or at its end for new events only', async () => {
    await store.appendToStream('duel-2', 'no_stream', [guess(1), guess(2), guess(3)]);
    const fromTwo = await open('/streams/duel-2/subscribe?fromVersion=2');
    const fromEnd = await open('/streams/duel-2/subscribe?fromVersion=end'); // the end is read before the answer
    await store.appendToStream('duel-2', 3, [guess(4)]);
    expect(versions(await fromTwo.take(3))).toEqual([2, 3, 4]);
    expect(versions(await fromEnd.take(1))).toEqual([4]);
    await sleep(200);
    expect(fromEnd.messages).toHaveLength(1);
  });

  it('sends $all filtered by stream prefix and event type, with global positions as ids, and resumes', async () => {
    const prefix = `arena-${randomBytes(3).toString('hex')}-`;
    await store.appendToStream(`${prefix}1`, 'no_stream', [guess(1, 'Scored'), guess(2, 'Missed'), guess(3, 'Scored')]);
    await store.appendToStream(`other-${prefix}1`, 'no_stream', [guess(4, 'Scored')]);
    const all = await open(`/all/subscribe?streamPrefix=${prefix}&eventTypes=Scored`);
    const [one, three] = await all.take(2);
    expect([one!.data, three!.data]).toEqual([{ n: 1 }, { n: 3 }]);
    expect(all.messages.map((message) => Number(message.id))).toEqual([one!.globalPosition, three!.globalPosition]);

    await store.appendToStream(`${prefix}2`, 'no_stream', [guess(5, 'Scored'), guess(6, 'Missed')]);
    const live = await all.take(3);
    expect(live.map((event) => event.data)).toEqual([{ n: 1 }, { n: 3 }, { n: 5 }]);
    all.close();

    const resumed = await open(`/all/subscribe?streamPrefix=${prefix}&eventTypes=Scored`, { 'Last-Event-ID': String(one!.globalPosition) });
    expect((await resumed.take(2)).map((event) => event.data)).toEqual([{ n: 3 }, { n: 5 }]);
    const fromCursor = await open(`/all/subscribe?streamPrefix=${prefix}&fromPosition=${String(three!.globalPosition)}`);
    expect((await fromCursor.take(2)).map((event) => event.data)).toEqual([{ n: 5 }, { n: 6 }]);
  });

  it('sends heartbeat comments while nothing happens', async () => {
    const quiet = await open('/streams/nothing-here-yet/subscribe');
    await eventually(() => quiet.comments.filter((comment) => comment === 'heartbeat').length >= 2, 5_000);
    expect(quiet.messages).toHaveLength(0);
  });

  it('refuses bad requests with the error body before any event is sent', async () => {
    const badId = await request(t.http).get('/streams/duel-1/subscribe').set('Last-Event-ID', 'abc');
    expect(badId.status).toBe(400);
    expect(badId.body).toMatchObject({ statusCode: 400, code: 'INVALID_ARGUMENT' });
    const badVersion = await request(t.http).get('/streams/duel-1/subscribe?fromVersion=0');
    expect(badVersion.status).toBe(400);
    expect(badVersion.body).toMatchObject({ statusCode: 400, code: 'INVALID_ARGUMENT' });
    const badPosition = await request(t.http).get('/all/subscribe?fromPosition=-1');
    expect(badPosition.status).toBe(400);
    expect(badPosition.body).toMatchObject({ statusCode: 400, code: 'INVALID_ARGUMENT' });
    await store.appendToStream('deleted-duel', 'no_stream', [guess(1)]);
    await store.deleteStream('deleted-duel', 1);
    const deleted = await request(t.http).get('/streams/deleted-duel/subscribe');
    expect(deleted.status).toBe(410);
    expect(deleted.body).toMatchObject({ statusCode: 410, code: 'STREAM_DELETED' });
  });

  it('stops the subscription of a client that leaves, and counts open streams', async () => {
    const open = () => gauge(t, 'event_store_sse_connections');
    const before = await open();
    const leaving = await openEventStream(`${base}/streams/duel-1/subscribe`);
    await leaving.take(1);
    expect(await open()).toBe(before + 1);
    leaving.close();
    await eventually(async () => (await open()) === before, 5_000);
  });

  it('ends the event stream with the reason when its stream is deleted meanwhile', async () => {
    await store.appendToStream('doomed-duel', 'no_stream', [guess(1)]);
    const client = await open('/streams/doomed-duel/subscribe');
    await client.take(1);
    await store.deleteStream('doomed-duel', 1);
    await eventually(() => client.ended, 10_000);
    expect(client.messages.at(-1)).toMatchObject({ event: 'close' });
    expect(JSON.parse(client.messages.at(-1)!.data)).toMatchObject({ code: 'STREAM_DELETED' });
  });
});

describe('event streams and the service stopping', () => {
  it('ends every event stream with SHUTTING_DOWN when the service stops', async () => {
    const t = await createTestApp({}, 'livestop');
    const base = await listeningUrl(t.http);
    await t.app.get(EventStore).appendToStream('stopping-1', 'no_stream', [guess(1)]);
    const client = await openEventStream(`${base}/streams/stopping-1/subscribe`);
    await client.take(1);
    const closing = t.close();
    await eventually(() => client.ended, 10_000);
    expect(client.messages.at(-1)!.event).toBe('close');
    expect(JSON.parse(client.messages.at(-1)!.data)).toMatchObject({ code: 'SHUTTING_DOWN' });
    await closing;
  });
});

describe('a client that stops reading', () => {
  const maxBufferedBytes = 65_536;
  let t: TestApp;
  let base: string;
  let store: EventStore;

  beforeAll(async () => {
    t = await createTestApp({ SSE_MAX_BUFFERED_BYTES: String(maxBufferedBytes), SSE_SLOW_CLIENT_TIMEOUT_MS: '2000' }, 'slow');
    base = await listeningUrl(t.http);
    store = t.app.get(EventStore);
  });
  afterAll(async () => {
    await t.close();
  });

  it('is disconnected with a reason once its buffer is full, having lost nothing before the cut', async () => {
    const payload = 'x'.repeat(32_000);
    for (let batch = 0; batch < 8; batch += 1) {
      const events = Array.from({ length: 100 }, (_, i) => ({ eventType: 'Flooded', data: { n: batch * 100 + i + 1, payload } }));
      await store.appendToStream('flood', 'any', events);
    }
    const slowDisconnects = () => counter(t, 'event_store_sse_disconnects_total', 'SLOW_CONSUMER');

    const client = await openEventStream(`${base}/streams/flood/subscribe`);
    client.pause(); // kernel buffers fill, then the server's, then the server gives up on it
    await eventually(async () => (await slowDisconnects()) === 1, 30_000);
    client.resume();
    await eventually(() => client.ended, 10_000);

    const last = client.messages.at(-1)!;
    expect(last.event).toBe('close');
    const reason = JSON.parse(last.data) as { code: string; details: { bufferedBytes: number } };
    expect(reason.code).toBe('SLOW_CONSUMER');
    // What waited for the client never exceeded the budget by more than the one event that crossed it.
    expect(reason.details.bufferedBytes).toBeLessThan(maxBufferedBytes + 33_000);
    const received = client.messages.slice(0, -1).map((message) => Number(message.id));
    expect(received.length).toBeGreaterThan(0);
    expect(received.length).toBeLessThan(800);
    expect(received).toEqual(Array.from({ length: received.length }, (_, i) => i + 1));
  });
});

describe('small buffers and clients that never read again', () => {
  let t: TestApp;
  let base: string;
  let store: EventStore;

  beforeAll(async () => {
    t = await createTestApp({ SSE_MAX_BUFFERED_BYTES: '4096', SSE_SLOW_CLIENT_TIMEOUT_MS: '1000' }, 'tiny');
    base = await listeningUrl(t.http);
    store = t.app.get(EventStore);
    const payload = 'y'.repeat(8_000);
    for (let batch = 0; batch < 8; batch += 1) {
      await store.appendToStream(
        'wide',
        'any',
        Array.from({ length: 100 }, (_, i) => ({ eventType: 'Wide', data: { n: batch * 100 + i + 1, payload } })),
      );
    }
  });
  afterAll(async () => {
    await t.close();
  });

  it('streams everything to a client that reads, with a budget below the socket buffer', async () => {
    const client = await openEventStream(`${base}/streams/wide/subscribe`);
    await client.take(800, 20_000);
    expect(client.messages.map((message) => Number(message.id))).toEqual(Array.from({ length: 800 }, (_, i) => i + 1));
    expect(client.ended).toBe(false);
    client.close();
  });

  it('destroys the connection of a client that never reads its reason', async () => {
    const open = () => gauge(t, 'event_store_sse_connections');
    const before = await open();
    const client = await openEventStream(`${base}/streams/wide/subscribe`);
    client.pause();
    await eventually(async () => (await counter(t, 'event_store_sse_disconnects_total', 'SLOW_CONSUMER')) === 1, 30_000);
    await eventually(async () => (await open()) === before, 10_000); // gone server-side, though the client never read again
    client.close();
  });
});

/** A gauge of the service's metrics, now. */
async function gauge(t: TestApp, name: string): Promise<number> {
  const metric = await t.app.get(MetricsService).sseConnections.get();
  expect(metric.name).toBe(name);
  return metric.values[0]?.value ?? 0;
}

/** One label's value of a counter of the service's metrics, now. */
async function counter(t: TestApp, name: string, reason: string): Promise<number> {
  const metric = await t.app.get(MetricsService).sseDisconnects.get();
  expect(metric.name).toBe(name);
  return metric.values.find((value) => value.labels.reason === reason)?.value ?? 0;
}
