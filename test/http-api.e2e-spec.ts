import request from 'supertest';
import { createTestApp, type TestApp } from './helpers/test-app.js';

const guess = (n: number) => ({ eventType: 'GuessProcessed', data: { guess: 'crane', n } });

describe('the HTTP API', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  const expectError = (body: unknown, statusCode: number, code: string): void => {
    expect(body).toEqual({ statusCode, code, message: expect.any(String), details: expect.any(Object) });
  };

  it('appends and reads a stream both ways, with the next page cursor', async () => {
    const created = await request(t.http)
      .post('/streams/game-1/events')
      .send({ expectedVersion: 'no_stream', events: [guess(1), guess(2), guess(3)] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ streamId: 'game-1', fromVersion: 1, toVersion: 3 });
    expect(typeof created.body.firstPosition).toBe('number');

    const page = await request(t.http).get('/streams/game-1/events?direction=forward&limit=2');
    expect(page.status).toBe(200);
    expect(page.body.events.map((e: { streamVersion: number }) => e.streamVersion)).toEqual([1, 2]);
    expect(page.body.nextFromVersion).toBe(3);
    expect(page.body.events[0]).toMatchObject({
      eventType: 'GuessProcessed',
      data: { guess: 'crane', n: 1 },
      schemaVersion: 1,
      streamId: 'game-1',
    });
    expect(new Date(page.body.events[0].createdAt).toISOString()).toBe(page.body.events[0].createdAt);
    const last = await request(t.http).get('/streams/game-1/events?fromVersion=3&limit=2');
    expect(last.body).toMatchObject({ nextFromVersion: null });
    const backward = await request(t.http).get('/streams/game-1/events?direction=backward');
    expect(backward.body.events.map((e: { streamVersion: number }) => e.streamVersion)).toEqual([3, 2, 1]);
  });

  it('maps every error of the store to its status and the one error body', async () => {
    const conflict = await request(t.http)
      .post('/streams/game-1/events')
      .send({ expectedVersion: 1, events: [guess(4)] });
    expect(conflict.status).toBe(409);
    expectError(conflict.body, 409, 'WRONG_EXPECTED_VERSION');
    expect(conflict.body.details).toMatchObject({ expectedVersion: 1, actualVersion: 3 });

    const missing = await request(t.http).get('/streams/nope/events');
    expectError(missing.body, 404, 'STREAM_NOT_FOUND');
    expect(missing.status).toBe(404);

    const empty = await request(t.http).post('/streams/game-2/events').send({ expectedVersion: 'any', events: [] });
    expect(empty.status).toBe(400);
    expectError(empty.body, 400, 'INVALID_ARGUMENT');

    const noVersion = await request(t.http)
      .post('/streams/game-2/events')
      .send({ events: [guess(1)] });
    expectError(noVersion.body, 400, 'INVALID_ARGUMENT');
    expect(noVersion.body.message).toContain('expectedVersion is required');

    const malformed = await request(t.http)
      .post('/streams/game-2/events')
      .set('Content-Type', 'application/json')
      .send('{"expectedVersion":');
    expect(malformed.status).toBe(400);
    expectError(malformed.body, 400, 'INVALID_ARGUMENT');

    const badEvent = await request(t.http)
      .post('/streams/game-2/events')
      .send({ expectedVersion: 'any', events: [{ eventType: 'X', data: [] }] });
    expectError(badEvent.body, 400, 'INVALID_ARGUMENT');

    const eventId = '0b1f8a5e-6c9d-4f3a-9b2e-7d4c5a6b8e90';
    await request(t.http)
      .post('/streams/game-3/events')
      .send({ expectedVersion: 'any', events: [{ ...guess(1), eventId }] });
    const duplicate = await request(t.http)
      .post('/streams/game-4/events')
      .send({ expectedVersion: 'any', events: [{ ...guess(1), eventId }] });
    expect(duplicate.status).toBe(409);
    expectError(duplicate.body, 409, 'DUPLICATE_EVENT');

    const unknown = await request(t.http).get('/no/such/route');
    expect(unknown.status).toBe(404);
    expectError(unknown.body, 404, 'ROUTE_NOT_FOUND');

    const badPaging = await request(t.http).get('/all/events?limit=0');
    expectError(badPaging.body, 400, 'INVALID_ARGUMENT');
  });

  it('reports stream info, answers HEAD, deletes soft and hard', async () => {
    const info = await request(t.http).get('/streams/game-1');
    expect(info.body).toMatchObject({ streamId: 'game-1', version: 3, deleted: false, metadata: {} });
    expect((await request(t.http).head('/streams/game-1')).status).toBe(200);
    expect((await request(t.http).head('/streams/nope')).status).toBe(404);

    await request(t.http)
      .post('/streams/soft-1/events')
      .send({ expectedVersion: 'no_stream', events: [guess(1)] });
    expect((await request(t.http).delete('/streams/soft-1?expectedVersion=1')).status).toBe(204);
    const gone = await request(t.http)
      .post('/streams/soft-1/events')
      .send({ expectedVersion: 'any', events: [guess(2)] });
    expect(gone.status).toBe(410);
    expectError(gone.body, 410, 'STREAM_DELETED');

    expect((await request(t.http).delete('/streams/soft-1?mode=hard')).status).toBe(204);
    expect((await request(t.http).get('/streams/soft-1')).status).toBe(404);
  });

  it('reads and replaces stream metadata, lists streams, reads $all with filters', async () => {
    const put = await request(t.http).put('/streams/game-1/metadata').send({ owner: 'bot-7' });
    expect(put.body).toEqual({ owner: 'bot-7' });
    expect((await request(t.http).get('/streams/game-1/metadata')).body).toEqual({ owner: 'bot-7' });

    const listed = await request(t.http).get('/streams?prefix=game-&limit=2');
    expect(listed.body.streams.map((s: { streamId: string }) => s.streamId)).toEqual(['game-1', 'game-3']);
    expect(listed.body.nextAfter).toBe('game-3');

    await request(t.http)
      .post('/streams/other-1/events')
      .send({ expectedVersion: 'any', events: [{ eventType: 'Other', data: {} }] });
    // $all shows events once older transactions on the server have ended (docs/design.md): poll.
    let all = await request(t.http).get('/all/events?eventTypes=GuessProcessed,Other&streamPrefix=game-&limit=100');
    for (let tries = 0; all.body.events?.length < 4 && tries < 100; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      all = await request(t.http).get('/all/events?eventTypes=GuessProcessed,Other&streamPrefix=game-&limit=100');
    }
    expect(all.status).toBe(200);
    expect(all.body.events).toHaveLength(4); // game-1 (3) and game-3 (1); the duplicate to game-4 stored nothing
    expect(all.body.events.every((e: { streamId: string }) => e.streamId.startsWith('game-'))).toBe(true);
    expect(typeof all.body.nextFromPosition).toBe('number');
    const backward = await request(t.http).get('/all/events?direction=backward&limit=1');
    expect(backward.body.events).toHaveLength(1);
  });

  it('serves Prometheus metrics: appends and reads of the store, pool, visibility lag, HTTP requests', async () => {
    await request(t.http)
      .post('/streams/metrics-1/events')
      .send({ expectedVersion: 'any', events: [guess(1), guess(2)] });
    await request(t.http).get('/streams/metrics-1/events');
    const response = await request(t.http).get('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toContain('text/plain');
    const samples = new Map<string, number>();
    for (const line of response.text.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/.exec(line);
      expect(match).not.toBeNull();
      samples.set(match![1]!, Number(match![2]));
    }
    expect(samples.get('event_store_events_appended_total')).toBeGreaterThanOrEqual(2);
    expect(samples.get('event_store_append_duration_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(samples.get('event_store_read_duration_seconds_count{kind="stream"}')).toBeGreaterThanOrEqual(1);
    expect(samples.get('event_store_pool_connections{state="total"}')).toBeGreaterThanOrEqual(1);
    expect(samples.has('event_store_all_visibility_lag_seconds')).toBe(true);
    expect(
      samples.get('http_request_duration_seconds_count{method="POST",route="/streams/:streamId/events",status="201"}'),
    ).toBeGreaterThanOrEqual(1);
  });

  it('serves its OpenAPI document at /docs-json, and the UI at /docs', async () => {
    const document = await request(t.http).get('/docs-json');
    expect(document.status).toBe(200);
    expect(Object.keys(document.body.paths)).toEqual(
      expect.arrayContaining(['/streams/{streamId}/events', '/streams/{streamId}', '/all/events', '/health', '/metrics']),
    );
    expect((await request(t.http).get('/docs')).status).toBe(200);
  });

  it('takes requests as HTTP clients send them: empty JSON bodies, trailing slashes, HEAD; refuses malformed ones with the error body', async () => {
    await request(t.http)
      .post('/streams/edge-1/events')
      .send({ expectedVersion: 'no_stream', events: [guess(1)] })
      .expect(201);
    expect((await request(t.http).get('/streams/edge-1/events/')).status).toBe(200);
    expect((await request(t.http).head('/health/live')).status).toBe(200);
    expect((await request(t.http).head('/streams/edge-1')).status).toBe(200);
    expect((await request(t.http).head('/streams/no-such-edge')).status).toBe(404);

    const noBody = await request(t.http).post('/subscriptions/none/failed/replay').set('Content-Type', 'application/json');
    expectError(noBody.body, 404, 'SUBSCRIPTION_NOT_FOUND'); // the empty body is {}, not a 400
    await request(t.http).delete('/streams/edge-1?mode=hard').set('Content-Type', 'application/json').expect(204);

    const notJson = await request(t.http)
      .post('/streams/edge-2/events')
      .set('Content-Type', 'application/xml')
      .send('{"expectedVersion":"any"}');
    expectError(notJson.body, 400, 'INVALID_ARGUMENT');
    expect(notJson.body.message).toContain('Content-Type: application/json');

    const badUrl = await request(t.http).get('/streams/%E0%A4%A/events');
    expectError(badUrl.body, 400, 'INVALID_ARGUMENT');
    expect(badUrl.headers['x-request-id']).toEqual(expect.any(String));
    const longId = await request(t.http).get(`/streams/${'x'.repeat(2_100)}/events`);
    expectError(longId.body, 400, 'INVALID_ARGUMENT');
  });
});
