import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { EventStore } from '../libs/event-store/src/index.js';
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

    const appended = await request(t.http).post('/streams/duel-1/events').send({ expectedVersion: 3, events: [guess(4), guess(5)] });
    expect(appended.status).toBe(201);
    const live = await first.take(5);
    expect(versions(live)).toEqual([1, 2, 3, 4, 5]);
    expect(first.messages.map((message) => message.id)).toEqual(['1', '2', '3', '4', '5']);
    expect(live[4]).toMatchObject({ streamId: 'duel-1', eventType: 'GuessProcessed', data: { n: 5 }, globalPosition: appended.body.lastPosition });
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
    const fromEnd = await open('/streams/duel-2/subscribe?fromVersion=end');
    expect(versions(await fromTwo.take(2))).toEqual([2, 3]);
    await sleep(200); // the end is taken when the subscription starts
    await store.appendToStream('duel-2', 3, [guess(4)]);
    expect(versions(await fromEnd.take(1))).toEqual([4]);
    expect(versions(await fromTwo.take(3))).toEqual([2, 3, 4]);
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
    expect(badVersion.body).toMatchObject({ statusCode: 400, code: 'INVALID_ARGUMENT' });
    const badPosition = await request(t.http).get('/all/subscribe?fromPosition=-1');
    expect(badPosition.body).toMatchObject({ statusCode: 400, code: 'INVALID_ARGUMENT' });
    await store.appendToStream('deleted-duel', 'no_stream', [guess(1)]);
    await store.deleteStream('deleted-duel', 1);
    const deleted = await request(t.http).get('/streams/deleted-duel/subscribe');
    expect(deleted.status).toBe(410);
    expect(deleted.body).toMatchObject({ statusCode: 410, code: 'STREAM_DELETED' });
  });

  it('ends the event stream with the reason when its stream is deleted meanwhile', async () => {
    await store.appendToStream('doomed-duel', 'no_stream', [guess(1)]);
    const client = await open('/streams/doomed-duel/subscribe');
    await client.take(1);
    await store.deleteStream('doomed-duel', 1);
    await eventually(() => client.ended, 10_000);
    expect(client.messages.at(-1)).toMatchObject({ event: 'error' });
    expect(JSON.parse(client.messages.at(-1)!.data)).toMatchObject({ code: 'STREAM_DELETED' });
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
    const slowDisconnects = async (): Promise<number> =>
      (await t.app.get(MetricsService).sseDisconnects.get()).values.find((value) => value.labels.reason === 'SLOW_CONSUMER')?.value ?? 0;

    const client = await openEventStream(`${base}/streams/flood/subscribe`);
    client.pause(); // kernel buffers fill, then the server's, then the server gives up on it
    await eventually(async () => (await slowDisconnects()) === 1, 30_000);
    client.resume();
    await eventually(() => client.ended, 10_000);

    const last = client.messages.at(-1)!;
    expect(last.event).toBe('error');
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
