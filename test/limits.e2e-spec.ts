import request from 'supertest';
import { createTestApp, type TestApp } from './helpers/test-app.js';

const events = (count: number, padding = 0) =>
  Array.from({ length: count }, (_, n) => ({ eventType: 'Scored', data: { n, padding: 'x'.repeat(padding) } }));

describe('request limits', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(
      { HTTP_BODY_LIMIT_BYTES: '4096', EVENT_STORE_MAX_APPEND_EVENTS: '5', EVENT_STORE_MAX_PAGE_SIZE: '10' },
      'limits',
    );
  });
  afterAll(async () => {
    await t.close();
  });

  const expectInvalid = (response: request.Response, pattern: RegExp): void => {
    expect({ status: response.status, code: response.body.code, statusCode: response.body.statusCode }).toEqual({
      status: 400,
      code: 'INVALID_ARGUMENT',
      statusCode: 400,
    });
    expect(response.body.message).toMatch(pattern);
  };

  it('refuses a body over HTTP_BODY_LIMIT_BYTES, naming the limit', async () => {
    expect(
      (
        await request(t.http)
          .post('/streams/limits-1/events')
          .send({ expectedVersion: 'any', events: events(1, 3_000) })
      ).status,
    ).toBe(201);
    const tooLarge = await request(t.http)
      .post('/streams/limits-1/events')
      .send({ expectedVersion: 'any', events: events(1, 5_000) });
    expectInvalid(tooLarge, /larger than 4096 bytes \(HTTP_BODY_LIMIT_BYTES\)/);
    expect(tooLarge.body.details).toEqual({ limitBytes: 4096 });
  });

  it('refuses more events per append than EVENT_STORE_MAX_APPEND_EVENTS, storing none', async () => {
    expect(
      (
        await request(t.http)
          .post('/streams/limits-2/events')
          .send({ expectedVersion: 'no_stream', events: events(5) })
      ).status,
    ).toBe(201);
    expectInvalid(
      await request(t.http)
        .post('/streams/limits-2/events')
        .send({ expectedVersion: 5, events: events(6) }),
      /at most 5/,
    );
    expect((await request(t.http).get('/streams/limits-2')).body.version).toBe(5);
  });

  it('refuses pages larger than EVENT_STORE_MAX_PAGE_SIZE on every paged route', async () => {
    expect((await request(t.http).get('/streams/limits-2/events?limit=10')).status).toBe(200);
    expectInvalid(await request(t.http).get('/streams/limits-2/events?limit=11'), /10/);
    expectInvalid(await request(t.http).get('/all/events?limit=11'), /10/);
    expectInvalid(await request(t.http).get('/streams?limit=11'), /10/);
  });

  it('validates stream ids: 1 to 200 characters, no control characters', async () => {
    const ok = 'x'.repeat(200);
    expect(
      (
        await request(t.http)
          .post(`/streams/${ok}/events`)
          .send({ expectedVersion: 'any', events: events(1) })
      ).status,
    ).toBe(201);
    expectInvalid(
      await request(t.http)
        .post(`/streams/${ok}y/events`)
        .send({ expectedVersion: 'any', events: events(1) }),
      /stream/i,
    );
    expectInvalid(await request(t.http).get('/streams/bad%01id/events'), /stream/i);
    expectInvalid(
      await request(t.http)
        .post('/streams/%24all/events')
        .send({ expectedVersion: 'any', events: events(1) }),
      /\$all/,
    );
  });
});
