import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { eventually } from './helpers/eventually.js';
import { listeningUrl, openEventStream, type SseClient } from './helpers/sse-client.js';
import { createTestApp, type TestApp } from './helpers/test-app.js';
import { startWebhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver.js';

interface EventView {
  eventId: string;
  eventType: string;
  streamId: string;
  streamVersion: number;
  globalPosition: number;
  data: Record<string, unknown>;
  tags?: string[];
  link?: { streamId: string; streamVersion: number; linkedAt: string };
}

const event = (eventType: string, data: Record<string, unknown> = {}, tags?: string[]) => ({
  eventId: randomUUID(),
  eventType,
  data,
  ...(tags && { tags }),
});

describe('consistency across streams over HTTP: multi-stream appends, links, tags and append conditions', () => {
  let t: TestApp;
  let base: string;
  let receiver: WebhookReceiver;
  const clients: SseClient[] = [];

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    t = await createTestApp({ WEBHOOK_ALLOWED_URLS: `${receiver.url}/hooks/`, WEBHOOK_SYNC_INTERVAL_MS: '200' }, 'consistency');
    base = await listeningUrl(t.http);
  });
  afterEach(() => clients.splice(0).forEach((client) => client.close()));
  afterAll(async () => {
    await t.close();
    await receiver.close();
  });

  const append = (body: unknown) =>
    request(t.http)
      .post('/append')
      .send(body as object);
  const appendTo = (streamId: string, body: unknown) =>
    request(t.http)
      .post(`/streams/${streamId}/events`)
      .send(body as object);
  const readStream = async (streamId: string, query = ''): Promise<{ status: number; events: EventView[]; next: number | null }> => {
    const response = await request(t.http).get(`/streams/${streamId}/events${query}`);
    return { status: response.status, events: response.body.events as EventView[], next: response.body.nextFromVersion as number | null };
  };
  /** Every event of `$all`, forward, with the query's filters. */
  const readAll = async (query = ''): Promise<EventView[]> => {
    const response = await request(t.http).get(`/all/events?limit=10000${query}`);
    expect(response.status).toBe(200);
    return response.body.events as EventView[];
  };
  /**
   * `$all` once `ready` holds: an event shows there once every older transaction of the PostgreSQL
   * cluster has ended, and other test files write on the same cluster.
   */
  const readAllOnce = async (query: string, ready: (events: EventView[]) => boolean): Promise<EventView[]> => {
    let events: EventView[] = [];
    await eventually(async () => ready((events = await readAll(query))));
    return events;
  };
  const holding =
    (...ids: string[]) =>
    (events: EventView[]) =>
      ids.every((id) => events.some((e) => e.eventId === id));
  const expectError = (response: request.Response, statusCode: number, code: string): void => {
    expect({ status: response.status, body: response.body as unknown }).toEqual({
      status: statusCode,
      body: { statusCode, code, message: expect.any(String), details: expect.any(Object) },
    });
  };

  describe('POST /append', () => {
    it('writes nothing when one of five entries is not at its expected version, and names that stream', async () => {
      await appendTo('multi-3', { expectedVersion: 'no_stream', events: [event('Seeded')] });
      const streams = [1, 2, 3, 4, 5].map((n) => ({
        streamId: `multi-${n}`,
        expectedVersion: n === 3 ? 5 : n === 1 ? 'no_stream' : 'any',
        events: [event('Scored', { n })],
      }));

      const refused = await append({ streams });
      expectError(refused, 409, 'WRONG_EXPECTED_VERSION');
      expect(refused.body.details).toMatchObject({ streamId: 'multi-3', expectedVersion: 5, actualVersion: 1 });
      for (const n of [1, 2, 4, 5]) {
        expectError(await request(t.http).get(`/streams/multi-${n}`), 404, 'STREAM_NOT_FOUND');
      }
      expect((await readStream('multi-3')).events).toHaveLength(1);

      streams[2]!.expectedVersion = 1;
      const stored = await append({ streams });
      expect(stored.status).toBe(201);
      const results = stored.body.streams as Array<Record<string, unknown>>;
      expect(results.map((result) => [result.streamId, result.fromVersion, result.toVersion])).toEqual([
        ['multi-1', 1, 1],
        ['multi-2', 1, 1],
        ['multi-3', 2, 2],
        ['multi-4', 1, 1],
        ['multi-5', 1, 1],
      ]);
      const positions = results.map((result) => result.firstPosition as number);
      expect(new Set(positions).size).toBe(5);
      expect(results.every((result) => result.firstPosition === result.lastPosition)).toBe(true);
      const [stored3] = (await readStream('multi-3', '?fromVersion=2')).events;
      expect(stored3).toMatchObject({ eventType: 'Scored', data: { n: 3 }, globalPosition: positions[2] });
    });

    it('checks the version of an entry without events: passes without writing it, or refuses the whole append', async () => {
      await appendTo('check-read', { expectedVersion: 'no_stream', events: [event('Read'), event('Read')] });
      const written = event('Decided');
      const body = {
        streams: [
          { streamId: 'check-read', expectedVersion: 2 },
          { streamId: 'check-write', expectedVersion: 'any', events: [written] },
        ],
      };
      const stored = await append(body);
      expect(stored.status).toBe(201);
      expect(stored.body.streams[0]).toEqual({
        streamId: 'check-read',
        fromVersion: 3,
        toVersion: 2,
        firstPosition: null,
        lastPosition: null,
      });
      expect(stored.body.streams[1]).toMatchObject({ streamId: 'check-write', fromVersion: 1, toVersion: 1 });
      expect((await readStream('check-read')).events).toHaveLength(2);

      const stale = await append({
        streams: [
          { streamId: 'check-read', expectedVersion: 1, events: [] },
          { streamId: 'check-write', expectedVersion: 'any', events: [event('Decided')] },
        ],
      });
      expectError(stale, 409, 'WRONG_EXPECTED_VERSION');
      expect(stale.body.details).toMatchObject({ streamId: 'check-read', actualVersion: 2 });
      expect((await readStream('check-write')).events.map((e) => e.eventId)).toEqual([written.eventId]);
    });

    it('answers a re-send of the same body 201 again and stores nothing twice', async () => {
      const body = {
        streams: [
          { streamId: 'retry-game', expectedVersion: 'no_stream', events: [event('GameWon', { by: 'p1' })] },
          { streamId: 'retry-player', expectedVersion: 'no_stream', events: [event('GameWonBy', { game: 1 }), event('Ranked')] },
        ],
      };
      const first = await append(body);
      expect(first.status).toBe(201);
      const again = await append(body);
      expect(again.status).toBe(201);
      expect(again.body).toEqual(first.body);
      expect((await readStream('retry-game')).events).toHaveLength(1);
      expect((await readStream('retry-player')).events).toHaveLength(2);
      const ids = body.streams.flatMap((entry) => entry.events.map((e) => e.eventId));
      const all = await readAllOnce('&streamPrefix=retry-', holding(...ids));
      expect(all.map((e) => e.eventId)).toEqual(ids);
    });

    it('refuses malformed bodies with 400 INVALID_ARGUMENT naming the field as the body names it', async () => {
      expectError(await append({}), 400, 'INVALID_ARGUMENT');
      expectError(await append({ streams: [] }), 400, 'INVALID_ARGUMENT');

      const noVersion = await append({ streams: [{ streamId: 'bad-1', expectedVersion: 'any' }, { streamId: 'bad-2' }] });
      expectError(noVersion, 400, 'INVALID_ARGUMENT');
      expect(noVersion.body.message).toBe('streams[1].expectedVersion is required');

      const reserved = await append({
        streams: [
          { streamId: 'bad-1', expectedVersion: 'any' },
          { streamId: '$all', expectedVersion: 'any' },
        ],
      });
      expectError(reserved, 400, 'INVALID_ARGUMENT');
      expect(reserved.body.details).toHaveProperty(['streams[1].streamId']);

      const twice = await append({
        streams: [
          { streamId: 'bad-1', expectedVersion: 'any' },
          { streamId: 'bad-1', expectedVersion: 'any' },
        ],
      });
      expectError(twice, 400, 'INVALID_ARGUMENT');
      expect(twice.body.message).toMatch(/^streams\[1\]: stream 'bad-1' appears twice/);

      const badTag = await append({
        streams: [
          { streamId: 'good-1', expectedVersion: 'any', events: [event('Tagged', {}, ['ok'])] },
          { streamId: 'bad-1', expectedVersion: 'any', events: [event('Tagged', {}, ['ok', ''])] },
        ],
      });
      expectError(badTag, 400, 'INVALID_ARGUMENT');
      expect(badTag.body.details).toHaveProperty(['streams[1].events[0].tags[1]']);
      const badVersion = await append({
        streams: [
          { streamId: 'good-1', expectedVersion: 'any' },
          { streamId: 'bad-1', expectedVersion: 'bogus' },
        ],
      });
      expectError(badVersion, 400, 'INVALID_ARGUMENT');
      expect(badVersion.body.details).toHaveProperty(['streams[1].expectedVersion']);
      expectError(await request(t.http).get('/streams/good-1'), 404, 'STREAM_NOT_FOUND');
      expectError(await request(t.http).get('/streams/bad-1'), 404, 'STREAM_NOT_FOUND');
    });
  });

  describe('tags and append conditions', () => {
    it('stores tags and shows them in every read; an event without tags has none', async () => {
      const tagged = event('WordClaimed', { word: 'crane' }, ['guild:7', 'word:crane']);
      const created = await appendTo('guild-7', { expectedVersion: 'no_stream', events: [tagged, event('Chatted')] });
      expect(created.status).toBe(201);
      const [withTags, without] = (await readStream('guild-7')).events;
      expect(withTags).toMatchObject({ eventId: tagged.eventId, tags: ['guild:7', 'word:crane'] });
      expect(without).not.toHaveProperty('tags');
      expect(without).not.toHaveProperty('link');
      const inAll = (await readAllOnce('', holding(tagged.eventId))).find((e) => e.eventId === tagged.eventId);
      expect(inAll?.tags).toEqual(['guild:7', 'word:crane']);
    });

    it('reads $all filtered by tags=a,b: only the events carrying both', async () => {
      const both = event('Answered', { n: 1 }, ['player:p9', 'day:2026-12-01']);
      const otherDay = event('Answered', { n: 2 }, ['player:p9', 'day:2026-12-02']);
      const bothAgain = event('Answered', { n: 3 }, ['day:2026-12-01', 'player:p9', 'extra']);
      await appendTo('answers-p9', { expectedVersion: 'any', events: [both, otherDay, event('Untagged'), bothAgain] });

      const filtered = await readAllOnce('&tags=player:p9,day:2026-12-01', holding(bothAgain.eventId));
      expect(filtered.map((e) => e.eventId)).toEqual([both.eventId, bothAgain.eventId]);
      const repeated = await readAll('&tags=player:p9&tags=day:2026-12-02');
      expect(repeated.map((e) => e.eventId)).toEqual([otherDay.eventId]);
      const typed = await readAll('&tags=player:p9&eventTypes=Untagged');
      expect(typed).toEqual([]);
      const backward = await request(t.http).get('/all/events?direction=backward&tags=player:p9,day:2026-12-01');
      expect(backward.body.events.map((e: EventView) => e.eventId)).toEqual([bothAgain.eventId, both.eventId]);
    });

    it('refuses an append whose condition matches a stored event: 409 APPEND_CONDITION_FAILED with the conflicting positions', async () => {
      const claim = (player: string, word = 'slate') => ({
        expectedVersion: 'any',
        events: [event('WordClaimed', { player }, ['guild:8', `word:${word}`])],
        condition: { failIfEventsMatch: [{ eventTypes: ['WordClaimed'], tags: ['guild:8', 'word:slate'] }] },
      });
      const first = await appendTo('claims-p1', claim('p1'));
      expect(first.status).toBe(201);

      const second = await appendTo('claims-p2', claim('p2'));
      expectError(second, 409, 'APPEND_CONDITION_FAILED');
      expect(second.body.details).toEqual({ conflictingPositions: [first.body.firstPosition], after: 0 });
      expectError(await request(t.http).get('/streams/claims-p2'), 404, 'STREAM_NOT_FOUND');

      const otherWord = await appendTo('claims-p2', {
        ...claim('p2', 'other'),
        condition: { failIfEventsMatch: [{ tags: ['guild:8', 'word:other'] }] },
      });
      expect(otherWord.status).toBe(201);
      const afterIt = await appendTo('claims-p3', {
        ...claim('p3'),
        condition: { ...claim('p3').condition, after: first.body.lastPosition },
      });
      expect(afterIt.status).toBe(201);

      const multi = await append({
        streams: [{ streamId: 'claims-p4', expectedVersion: 'any', events: [event('WordClaimed')] }],
        condition: { failIfEventsMatch: [{ eventTypes: ['WordClaimed'], tags: ['word:slate'] }] },
      });
      expectError(multi, 409, 'APPEND_CONDITION_FAILED');
      expect(multi.body.details.conflictingPositions).toEqual([first.body.firstPosition, afterIt.body.firstPosition]);
    });

    it('refuses a bad tag (400 naming the field) and a condition item that would match every event', async () => {
      const badTag = await appendTo('bad-tags', { expectedVersion: 'any', events: [event('Tagged', {}, ['guild:7', 'a\u0007b'])] });
      expectError(badTag, 400, 'INVALID_ARGUMENT');
      expect(badTag.body.message).toContain('events[0].tags[1]');
      expect(badTag.body.details).toHaveProperty(['events[0].tags[1]']);

      const repeated = await appendTo('bad-tags', { expectedVersion: 'any', events: [event('Tagged', {}, ['x', 'x'])] });
      expectError(repeated, 400, 'INVALID_ARGUMENT');
      expect(repeated.body.message).toContain('events[0].tags[1]');

      const tooMany = Array.from({ length: 21 }, (_, n) => `t${n}`);
      expectError(await appendTo('bad-tags', { expectedVersion: 'any', events: [event('Tagged', {}, tooMany)] }), 400, 'INVALID_ARGUMENT');

      const everything = { failIfEventsMatch: [{}] };
      const single = await appendTo('bad-tags', { expectedVersion: 'any', events: [event('Tagged')], condition: everything });
      expectError(single, 400, 'INVALID_ARGUMENT');
      expect(single.body.message).toContain('condition.failIfEventsMatch[0]');
      const multi = await append({
        streams: [{ streamId: 'bad-tags', expectedVersion: 'any', events: [event('Tagged')] }],
        condition: everything,
      });
      expectError(multi, 400, 'INVALID_ARGUMENT');
      expectError(
        await appendTo('bad-tags', { expectedVersion: 'any', events: [event('Tagged')], condition: { failIfEventsMatch: [] } }),
        400,
        'INVALID_ARGUMENT',
      );
      expectError(await request(t.http).get('/all/events?tags='), 400, 'INVALID_ARGUMENT');
      expectError(await request(t.http).get('/streams/bad-tags'), 404, 'STREAM_NOT_FOUND');
    });
  });

  describe('POST /streams/{streamId}/links', () => {
    it('links stored events into another stream: the link shows in its reads, $all holds each event once', async () => {
      const [first, second, third] = [event('Highlight', { n: 1 }, ['best']), event('Highlight', { n: 2 }), event('Highlight', { n: 3 })];
      const source = await appendTo('match-1', { expectedVersion: 'no_stream', events: [first, second, third] });
      expect(source.status).toBe(201);
      await appendTo('reel', { expectedVersion: 'no_stream', events: [event('ReelOpened')] });

      const linked = await request(t.http)
        .post('/streams/reel/links')
        .send({ expectedVersion: 1, eventIds: [second.eventId, third.eventId, first.eventId] });
      expect(linked.status).toBe(201);
      expect(linked.body).toEqual({ streamId: 'reel', fromVersion: 2, toVersion: 4, firstPosition: null, lastPosition: null });

      const reel = await readStream('reel');
      expect(reel.status).toBe(200);
      expect(reel.events.map((e) => [e.eventId, e.streamId, e.streamVersion, e.link?.streamVersion])).toEqual([
        [expect.any(String), 'reel', 1, undefined],
        [second.eventId, 'match-1', 2, 2],
        [third.eventId, 'match-1', 3, 3],
        [first.eventId, 'match-1', 1, 4],
      ]);
      const link = reel.events[1]!.link!;
      expect(link.streamId).toBe('reel');
      expect(new Date(link.linkedAt).toISOString()).toBe(link.linkedAt);
      expect(reel.events[1]!.globalPosition).toBe(source.body.firstPosition + 1);
      expect(reel.events[3]!.tags).toEqual(['best']);

      // Paging goes by the versions of the stream read, the links' own.
      const page = await readStream('reel', '?fromVersion=2&limit=2');
      expect(page.events.map((e) => e.link?.streamVersion)).toEqual([2, 3]);
      expect(page.next).toBe(4);
      const back = await readStream('reel', '?direction=backward&fromVersion=4&limit=2');
      expect(back.events.map((e) => e.link?.streamVersion)).toEqual([4, 3]);
      expect(back.next).toBe(2);

      const all = await readAllOnce('', holding(first.eventId, second.eventId, third.eventId));
      for (const id of [first.eventId, second.eventId, third.eventId]) {
        const copies = all.filter((e) => e.eventId === id);
        expect(copies).toHaveLength(1);
        expect(copies[0]).toMatchObject({ streamId: 'match-1' });
        expect(copies[0]).not.toHaveProperty('link');
      }
      expect((await readStream('match-1')).events.every((e) => e.link === undefined)).toBe(true);
    });

    it('answers a re-send 201 and links nothing twice; refuses unknown ids, a wrong version and a missing body field', async () => {
      const stored = event('Clip');
      await appendTo('clips-src', { expectedVersion: 'no_stream', events: [stored] });
      const body = { expectedVersion: 'no_stream', eventIds: [stored.eventId] };
      const first = await request(t.http).post('/streams/clips/links').send(body);
      expect(first.status).toBe(201);
      const again = await request(t.http).post('/streams/clips/links').send(body);
      expect(again.status).toBe(201);
      expect(again.body).toEqual(first.body);
      expect((await readStream('clips')).events).toHaveLength(1);

      const other = event('Clip');
      await appendTo('clips-src', { expectedVersion: 1, events: [other] });
      const wrong = await request(t.http)
        .post('/streams/clips/links')
        .send({ expectedVersion: 5, eventIds: [other.eventId] });
      expectError(wrong, 409, 'WRONG_EXPECTED_VERSION');
      expect(wrong.body.details).toMatchObject({ streamId: 'clips', actualVersion: 1 });
      const unknown = await request(t.http)
        .post('/streams/clips/links')
        .send({ expectedVersion: 'any', eventIds: [other.eventId, randomUUID()] });
      expectError(unknown, 400, 'INVALID_ARGUMENT');
      const own = await request(t.http)
        .post('/streams/clips-src/links')
        .send({ expectedVersion: 'any', eventIds: [other.eventId] });
      expectError(own, 400, 'INVALID_ARGUMENT');
      expect(own.body.message).toContain('itself');
      const noIds = await request(t.http).post('/streams/clips/links').send({ expectedVersion: 'any' });
      expectError(noIds, 400, 'INVALID_ARGUMENT');
      expect(noIds.body.message).toBe('eventIds is required');
      const noVersion = await request(t.http)
        .post('/streams/clips/links')
        .send({ eventIds: [stored.eventId] });
      expectError(noVersion, 400, 'INVALID_ARGUMENT');
      expect((await readStream('clips')).events).toHaveLength(1);
    });

    it('refuses a link whose condition matches a stored event', async () => {
      const claimed = event('Featured', {}, ['featured:week-49']);
      const source = await appendTo('feature-src', { expectedVersion: 'no_stream', events: [claimed, event('Featured')] });
      const candidate = (await readStream('feature-src')).events[1]!;
      const refused = await request(t.http)
        .post('/streams/featured/links')
        .send({
          expectedVersion: 'any',
          eventIds: [candidate.eventId],
          condition: { failIfEventsMatch: [{ tags: ['featured:week-49'] }] },
        });
      expectError(refused, 409, 'APPEND_CONDITION_FAILED');
      expect(refused.body.details.conflictingPositions).toEqual([source.body.firstPosition]);
      expectError(await request(t.http).get('/streams/featured'), 404, 'STREAM_NOT_FOUND');
    });
  });

  describe('live: Server-Sent Events and webhooks filtered by tags', () => {
    it('sends only the events that carry every tag of /all/subscribe?tags=..., in catch-up and live', async () => {
      const early = event('Move', { n: 1 }, ['table:1', 'seat:a']);
      await appendTo('table-1', { expectedVersion: 'any', events: [early, event('Move', { n: 2 }, ['table:1']), event('Move', { n: 3 })] });
      const sse = await openEventStream(`${base}/all/subscribe?tags=table:1,seat:a`);
      clients.push(sse);
      expect(sse.status).toBe(200);
      const [caughtUp] = await sse.take<EventView>(1);
      expect(caughtUp).toMatchObject({ eventId: early.eventId, tags: ['table:1', 'seat:a'] });

      const late = event('Move', { n: 4 }, ['seat:a', 'table:1', 'other']);
      await append({
        streams: [
          { streamId: 'table-1', expectedVersion: 'any', events: [event('Move', { n: 5 }, ['seat:a'])] },
          { streamId: 'table-2', expectedVersion: 'any', events: [late] },
        ],
      });
      const [, live] = await sse.take<EventView>(2);
      expect(live).toMatchObject({ eventId: late.eventId, streamId: 'table-2' });
      expect(sse.messages[1]!.id).toBe(String(live!.globalPosition));
      await appendTo('table-3', { expectedVersion: 'any', events: [event('Move', { n: 6 }, ['table:1', 'seat:a'])] });
      await sse.take(3);
      expect(sse.messages.map((message) => (JSON.parse(message.data) as EventView).data.n)).toEqual([1, 4, 6]);
    });

    it('gives linked events their link version as the SSE id of a stream', async () => {
      const clip = event('Clip', { n: 1 });
      await appendTo('sse-src', { expectedVersion: 'no_stream', events: [event('Other'), event('Other'), clip] });
      await request(t.http)
        .post('/streams/sse-reel/links')
        .send({ expectedVersion: 'no_stream', eventIds: [clip.eventId] });
      const sse = await openEventStream(`${base}/streams/sse-reel/subscribe`);
      clients.push(sse);
      const [linked] = await sse.take<EventView>(1);
      expect(linked).toMatchObject({ eventId: clip.eventId, streamVersion: 3, link: { streamId: 'sse-reel', streamVersion: 1 } });
      expect(sse.messages[0]!.id).toBe('1');
    });

    it('delivers to a webhook with a tags filter only the events carrying its tags', async () => {
      const created = await request(t.http)
        .post('/subscriptions')
        .send({ name: 'guild-9', url: `${receiver.url}/hooks/guild-9`, filter: { tags: ['guild:9'] }, startFrom: 'end' });
      expect(created.status).toBe(201);
      expect(created.body.filter).toEqual({ tags: ['guild:9'] });

      const wanted = event('Joined', { n: 1 }, ['guild:9', 'player:p1']);
      await appendTo('guild-9', {
        expectedVersion: 'any',
        events: [event('Joined', { n: 0 }, ['guild:10']), wanted, event('Joined', { n: 2 })],
      });
      const last = event('Left', { n: 3 }, ['guild:9']);
      await append({ streams: [{ streamId: 'guild-9b', expectedVersion: 'any', events: [last] }] });

      const hits = () =>
        receiver.received
          .filter((hit) => hit.path === '/hooks/guild-9' && hit.status < 300)
          .map((hit) => JSON.parse(hit.body) as { event: EventView });
      await eventually(() => hits().length >= 2);
      await eventually(
        async () => (await request(t.http).get('/subscriptions/guild-9')).body.checkpoint >= hits()[1]!.event.globalPosition,
      );
      await sleep(300);
      expect(hits().map((hit) => hit.event.eventId)).toEqual([wanted.eventId, last.eventId]);
      expect(hits()[0]!.event.tags).toEqual(['guild:9', 'player:p1']);
      expect((await request(t.http).get('/subscriptions/guild-9')).body.filter).toEqual({ tags: ['guild:9'] });

      const badFilter = await request(t.http)
        .post('/subscriptions')
        .send({ name: 'guild-bad', url: `${receiver.url}/hooks/guild-bad`, filter: { tags: [] } });
      expectError(badFilter, 400, 'INVALID_ARGUMENT');
      expectError(await request(t.http).get('/subscriptions/guild-bad'), 404, 'SUBSCRIPTION_NOT_FOUND');
    });
  });
});

describe('access to the consistency routes', () => {
  const READER = 'reader-token-0123456789';
  const WRITER = 'writer-token-0123456789';
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ EVENT_STORE_TOKENS: `${READER}:read,${WRITER}:write` }, 'consistencyauth');
  });
  afterAll(async () => {
    await t.close();
  });

  it('needs the write role for POST /append and POST /streams/{streamId}/links, as for appends', async () => {
    const stored = randomUUID();
    const body = { streams: [{ streamId: 'auth-src', expectedVersion: 'any', events: [{ eventId: stored, eventType: 'X', data: {} }] }] };
    const links = { expectedVersion: 'any', eventIds: [stored] };
    for (const [path, payload] of [
      ['/append', body],
      ['/streams/auth-reel/links', links],
    ] as const) {
      expect((await request(t.http).post(path).send(payload)).status).toBe(401);
      const forbidden = await request(t.http).post(path).set('Authorization', `Bearer ${READER}`).send(payload);
      expect(forbidden.status).toBe(403);
      expect(forbidden.body).toMatchObject({ code: 'FORBIDDEN' });
      expect((await request(t.http).post(path).set('Authorization', `Bearer ${WRITER}`).send(payload)).status).toBe(201);
    }
    const read = await request(t.http).get('/all/events?tags=none-yet').set('Authorization', `Bearer ${READER}`);
    expect(read.status).toBe(200);
  });
});
